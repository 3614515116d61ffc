"""Lambda sequences recorded against AWS: LocalStack's AWS-validated tests (Apache-2.0), each registered with
the recording of its responses. The code is LocalStack's; changes are marked `# lambda-canary:`.

The recorded functions ran on Python; here they run on Node (functions/ has the equivalents), so the
recordings' `Runtime` values are substituted (exact values only): python3.12 -> nodejs22.x and, for the
update to another runtime, python3.11 -> nodejs18.x.
"""
# ruff: noqa: E501
# LocalStack's test code is kept as written (its layout included) so it stays comparable with the original.

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from conformance.harness import fixture
from conformance.harness import recorded as _recorded
from conformance.localstack_compat import (
    TEST_LAMBDA_PYTHON_ECHO,
    Runtime,
    SortingTransformer,
    function_zip,
    short_uid,
)

TEST_LAMBDA_PYTHON_VERSION = "version.js"
TEST_LAMBDA_PYTHON_ECHO_ZIP = "echo.js"
RUNTIMES = {"python3.12": Runtime.python3_12, "python3.11": Runtime.python3_11, "python3.8": Runtime.python3_8}


def recorded(file: str, test: str, **kwargs: Any) -> Any:
    return _recorded(file, test, substitutions=RUNTIMES, **kwargs)


class Architecture:
    x86_64 = "x86_64"
    arm64 = "arm64"


class arns:
    @staticmethod
    def s3_bucket_arn(bucket: str, region: str | None = None) -> str:
        return f"arn:aws:s3:::{bucket}"


def get_partition(region: str) -> str:
    return "aws"


def load_file(name: str, mode: str = "r", **kwargs: Any) -> Any:
    """A handler's file name (for create_lambda_archive); with mode="rb" a ready zip, as LocalStack's echo.zip
    (its handler is index.handler)."""
    return function_zip(name, "index") if mode == "rb" else name


def create_lambda_archive(name: str, get_content: bool = True, **kwargs: Any) -> bytes:
    return function_zip(name)


@fixture
def create_lambda_function_aws(aws_client: Any) -> Any:
    """LocalStack's create_lambda_function_aws: CreateFunction as given (no waiter)."""

    def create(**kwargs: Any) -> Any:
        return aws_client.lambda_.create_function(**kwargs)

    return create


# ---- sequences -------------------------------------------------------------------------------------------
@recorded("test_lambda_api", "TestLambdaFunction::test_function_lifecycle")
def test_function_lifecycle(snapshot, create_lambda_function, lambda_su_role, aws_client):
    """Tests CRUD for the lifecycle of a Lambda function and its config"""
    function_name = f"fn-{short_uid()}"
    create_response = create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
        role=lambda_su_role,
        MemorySize=256,
        Timeout=5,
    )

    snapshot.match("create_response", create_response)
    aws_client.lambda_.get_waiter("function_active_v2").wait(FunctionName=function_name)

    get_function_response = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_response", get_function_response)

    update_func_conf_response = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name,
        Runtime=Runtime.python3_11,
        Description="Changed-Description",
        MemorySize=512,
        Timeout=10,
        Environment={"Variables": {"ENV_A": "a"}},
    )
    snapshot.match("update_func_conf_response", update_func_conf_response)

    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)

    get_function_response_postupdate = aws_client.lambda_.get_function(
        FunctionName=function_name
    )
    snapshot.match("get_function_response_postupdate", get_function_response_postupdate)

    zip_f = create_lambda_archive(load_file(TEST_LAMBDA_PYTHON_VERSION), get_content=True)
    update_code_response = aws_client.lambda_.update_function_code(
        FunctionName=function_name,
        ZipFile=zip_f,
    )
    snapshot.match("update_code_response", update_code_response)

    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)

    get_function_response_postcodeupdate = aws_client.lambda_.get_function(
        FunctionName=function_name
    )
    snapshot.match("get_function_response_postcodeupdate", get_function_response_postcodeupdate)

    delete_response = aws_client.lambda_.delete_function(FunctionName=function_name)
    snapshot.match("delete_response", delete_response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.delete_function(FunctionName=function_name)
    snapshot.match("delete_postdelete", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_redundant_updates")
def test_redundant_updates(create_lambda_function, snapshot, aws_client):
    """validates that redundant updates work (basically testing idempotency)"""
    function_name = f"fn-{short_uid()}"

    create_response = create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
        Description="Initial description",
    )
    snapshot.match("create_response", create_response)

    first_update_result = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Description="1st update description"
    )
    snapshot.match("first_update_result", first_update_result)

    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)

    get_fn_config_result = aws_client.lambda_.get_function_configuration(
        FunctionName=function_name
    )
    snapshot.match("get_fn_config_result", get_fn_config_result)

    get_fn_result = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_fn_result", get_fn_result)

    redundant_update_result = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Description="1st update description"
    )
    snapshot.match("redundant_update_result", redundant_update_result)
    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)
    get_fn_result_after_redundant_update = aws_client.lambda_.get_function(
        FunctionName=function_name
    )
    snapshot.match("get_fn_result_after_redundant_update", get_fn_result_after_redundant_update)


@recorded("test_lambda_api", "TestLambdaFunction::test_ops_with_arn_qualifier_mismatch[delete_function]", parameters={"clientfn": "delete_function"})
@recorded("test_lambda_api", "TestLambdaFunction::test_ops_with_arn_qualifier_mismatch[get_function]", parameters={"clientfn": "get_function"})
@recorded("test_lambda_api", "TestLambdaFunction::test_ops_with_arn_qualifier_mismatch[get_function_configuration]", parameters={"clientfn": "get_function_configuration"})
def test_ops_with_arn_qualifier_mismatch(create_lambda_function, snapshot, account_id, clientfn, aws_client
):
    function_name = "some-function"
    method = getattr(aws_client.lambda_, clientfn)
    region_name = aws_client.lambda_.meta.region_name
    with pytest.raises(ClientError) as e:
        method(
            FunctionName=f"arn:{get_partition(region_name)}:lambda:{region_name}:{account_id}:function:{function_name}:1",
            Qualifier="$LATEST",
        )
    snapshot.match("not_match_exception", e.value.response)
    # check if it works if it matches - still no function there
    with pytest.raises(ClientError) as e:
        method(
            FunctionName=f"arn:{get_partition(region_name)}:lambda:{region_name}:{account_id}:function:{function_name}:$LATEST",
            Qualifier="$LATEST",
        )
    snapshot.match("match_exception", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_ops_on_nonexisting_version[get_function]", parameters={"clientfn": "get_function"})
@recorded("test_lambda_api", "TestLambdaFunction::test_ops_on_nonexisting_version[get_function_configuration]", parameters={"clientfn": "get_function_configuration"})
def test_ops_on_nonexisting_version(create_lambda_function, snapshot, clientfn, aws_client
):
    """Test API responses on existing function names, but not existing versions"""
    function_name = f"i-exist-{short_uid()}"
    snapshot.add_transformer(snapshot.transform.regex(function_name, "<fn-name>"))
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
        Description="Initial description",
    )
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        method = getattr(aws_client.lambda_, clientfn)
        method(FunctionName=function_name, Qualifier="1221")
    snapshot.match("version_not_found_exception", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_delete_on_nonexisting_version")
def test_delete_on_nonexisting_version(create_lambda_function, snapshot, aws_client):
    """Test API responses on existing function names, but not existing versions"""
    function_name = f"i-exist-{short_uid()}"
    snapshot.add_transformer(snapshot.transform.regex(function_name, "<fn-name>"))
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
        Description="Initial description",
    )
    # it seems delete function on a random qualifier is idempotent
    aws_client.lambda_.delete_function(FunctionName=function_name, Qualifier="1233")
    aws_client.lambda_.delete_function(FunctionName=function_name, Qualifier="1233")
    aws_client.lambda_.delete_function(FunctionName=function_name)
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.delete_function(FunctionName=function_name)
    snapshot.match("delete_function_response_non_existent", e.value.response)
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.delete_function(FunctionName=function_name, Qualifier="1233")
    snapshot.match("delete_function_response_non_existent_with_qualifier", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_ops_on_nonexisting_fn[delete_function]", parameters={"clientfn": "delete_function"})
@recorded("test_lambda_api", "TestLambdaFunction::test_ops_on_nonexisting_fn[get_function]", parameters={"clientfn": "get_function"})
@recorded("test_lambda_api", "TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_configuration]", parameters={"clientfn": "get_function_configuration"})
def test_ops_on_nonexisting_fn(snapshot, clientfn, aws_client):
    """Test API responses on non-existing function names"""
    # technically the short_uid isn't really required but better safe than sorry
    function_name = f"i-dont-exist-{short_uid()}"
    snapshot.add_transformer(snapshot.transform.regex(function_name, "<nonexisting-fn-name>"))
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        method = getattr(aws_client.lambda_, clientfn)
        method(FunctionName=function_name)
    snapshot.match("not_found_exception", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_create_lambda_exceptions")
def test_create_lambda_exceptions(lambda_su_role, snapshot, aws_client):
    function_name = f"invalid-function-{short_uid()}"
    zip_file_bytes = create_lambda_archive(load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True)
    # test invalid role arn
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role="r1",
            Runtime=Runtime.python3_12,
        )
    snapshot.match("invalid_role_arn_exc", e.value.response)
    # test invalid runtimes
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime="non-existent-runtime",
        )
    snapshot.match("invalid_runtime_exc", e.value.response)
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime="PYTHON3.9",
        )
    snapshot.match("uppercase_runtime_exc", e.value.response)

    # test empty architectures
    with pytest.raises(ParamValidationError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime=Runtime.python3_12,
            Architectures=[],
        )
    snapshot.match("empty_architectures", e.value)

    # test multiple architectures
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime=Runtime.python3_12,
            Architectures=[Architecture.x86_64, Architecture.arm64],
        )
    snapshot.match("multiple_architectures", e.value.response)

    # test invalid architecture: capital "X" instead of "x"
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": zip_file_bytes},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime=Runtime.python3_12,
            Architectures=["X86_64"],
        )
    snapshot.match("uppercase_architecture", e.value.response)

    # test what happens with an invalid zip file
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.create_function(
            FunctionName=function_name,
            Handler="index.handler",
            Code={"ZipFile": b"this is not a zipfile, just a random string"},
            PackageType="Zip",
            Role=lambda_su_role,
            Runtime=Runtime.python3_9,  # lambda-canary: a runtime the emulator runs (the recorded call named python3.9)
        )
    snapshot.match("invalid_zip_exc", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_update_lambda_exceptions")
def test_update_lambda_exceptions(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    function_name = f"invalid-function-{short_uid()}"
    zip_file_bytes = create_lambda_archive(load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True)
    create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={"ZipFile": zip_file_bytes},
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
    )
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.update_function_configuration(
            FunctionName=function_name,
            Role="r1",
        )
    snapshot.match("invalid_role_arn_exc", e.value.response)
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.update_function_configuration(
            FunctionName=function_name,
            Runtime="non-existent-runtime",
        )
    snapshot.match("invalid_runtime_exc", e.value.response)
    with pytest.raises(ClientError) as e:
        aws_client.lambda_.update_function_configuration(
            FunctionName=function_name,
            Runtime="PYTHON3.9",
        )
    snapshot.match("uppercase_runtime_exc", e.value.response)


@recorded("test_lambda_api", "TestLambdaFunction::test_invalid_invoke")
def test_invalid_invoke(aws_client, snapshot):
    region_name = aws_client.lambda_.meta.region_name
    with pytest.raises(aws_client.lambda_.exceptions.ClientError) as e:
        aws_client.lambda_.invoke(
            FunctionName=f"arn:{get_partition(region_name)}:lambda:{region_name}:123400000000@function:myfn",
            Payload=b"{}",
        )
    snapshot.match("invoke_function_name_pattern_exc", e.value.response)


@recorded("test_lambda_api", "TestLambdaVersions::test_publish_version_on_create")
def test_publish_version_on_create(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    function_name = f"fn-{short_uid()}"

    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
        Publish=True,
    )
    snapshot.match("create_response", create_response)

    get_function_result = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_result", get_function_result)

    get_function_version_result = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier="1"
    )
    snapshot.match("get_function_version_result", get_function_version_result)

    get_function_latest_result = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier="$LATEST"
    )
    snapshot.match("get_function_latest_result", get_function_latest_result)

    list_versions_result = aws_client.lambda_.list_versions_by_function(
        FunctionName=function_name
    )
    snapshot.match("list_versions_result", list_versions_result)

    # rerelease just published function, should not release new version
    repeated_publish_response = aws_client.lambda_.publish_version(
        FunctionName=function_name, Description="Repeated version description :)"
    )
    snapshot.match("repeated_publish_response", repeated_publish_response)
    list_versions_result_after_publish = aws_client.lambda_.list_versions_by_function(
        FunctionName=function_name
    )
    snapshot.match("list_versions_result_after_publish", list_versions_result_after_publish)


@recorded("test_lambda_api", "TestLambdaVersions::test_version_lifecycle")
def test_version_lifecycle(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    """
    Test the function version "lifecycle" (there are no deletes)
    """
    waiter = aws_client.lambda_.get_waiter("function_updated_v2")
    function_name = f"fn-{short_uid()}"
    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
        Description="No version :(",
    )
    snapshot.match("create_response", create_response)

    get_function_result = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_result", get_function_result)

    list_versions_result = aws_client.lambda_.list_versions_by_function(
        FunctionName=function_name
    )
    snapshot.match("list_versions_result", list_versions_result)

    first_update_response = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Description="First version :)"
    )
    snapshot.match("first_update_response", first_update_response)
    waiter.wait(FunctionName=function_name)
    first_update_get_function = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("first_update_get_function", first_update_get_function)

    first_publish_response = aws_client.lambda_.publish_version(
        FunctionName=function_name, Description="First version description :)"
    )
    snapshot.match("first_publish_response", first_publish_response)

    first_publish_get_function = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier=first_publish_response["Version"]
    )
    snapshot.match("first_publish_get_function", first_publish_get_function)
    first_publish_get_function_config = aws_client.lambda_.get_function_configuration(
        FunctionName=function_name, Qualifier=first_publish_response["Version"]
    )
    snapshot.match("first_publish_get_function_config", first_publish_get_function_config)

    second_update_response = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Description="Second version :))"
    )
    snapshot.match("second_update_response", second_update_response)
    waiter.wait(FunctionName=function_name)
    # check if first publish get function changed:
    first_publish_get_function_after_update = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier=first_publish_response["Version"]
    )
    snapshot.match(
        "first_publish_get_function_after_update", first_publish_get_function_after_update
    )

    # Same state published as two different versions.
    # The publish_version api is idempotent, so the second publish_version will *NOT* create a new version because $LATEST hasn't been updated!
    second_publish_response = aws_client.lambda_.publish_version(FunctionName=function_name)
    snapshot.match("second_publish_response", second_publish_response)
    third_publish_response = aws_client.lambda_.publish_version(
        FunctionName=function_name, Description="Third version description :)))"
    )
    snapshot.match("third_publish_response", third_publish_response)

    list_versions_result_end = aws_client.lambda_.list_versions_by_function(
        FunctionName=function_name
    )
    snapshot.match("list_versions_result_after_third_publish", list_versions_result_end)

    aws_client.lambda_.delete_function(
        FunctionName=f"{function_name}:{first_publish_response['Version']}"
    )
    list_versions_result_end = aws_client.lambda_.list_versions_by_function(
        FunctionName=function_name
    )
    snapshot.match(
        "list_versions_result_after_deletion_of_first_version", list_versions_result_end
    )


@recorded("test_lambda_api", "TestLambdaVersions::test_publish_with_wrong_sha256")
def test_publish_with_wrong_sha256(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    function_name = f"fn-{short_uid()}"
    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
    )
    snapshot.match("create_response", create_response)

    get_fn_response = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_fn_response", get_fn_response)

    # publish_versions fails for the wrong revision id
    with pytest.raises(aws_client.lambda_.exceptions.InvalidParameterValueException) as e:
        aws_client.lambda_.publish_version(
            FunctionName=function_name, CodeSha256="somenonexistentsha256"
        )
    snapshot.match("publish_wrong_sha256_exc", e.value.response)

    # but with the proper rev id, it should work
    publish_result = aws_client.lambda_.publish_version(
        FunctionName=function_name, CodeSha256=get_fn_response["Configuration"]["CodeSha256"]
    )
    snapshot.match("publish_result", publish_result)


@recorded("test_lambda_api", "TestLambdaVersions::test_publish_with_update")
def test_publish_with_update(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    function_name = f"fn-{short_uid()}"

    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
    )
    snapshot.match("create_response", create_response)

    get_function_result = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_result", get_function_result)
    update_zip_file = create_lambda_archive(
        load_file(TEST_LAMBDA_PYTHON_VERSION), get_content=True
    )
    update_function_code_result = aws_client.lambda_.update_function_code(
        FunctionName=function_name, ZipFile=update_zip_file, Publish=True
    )
    snapshot.match("update_function_code_result", update_function_code_result)

    get_function_version_result = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier="1"
    )
    snapshot.match("get_function_version_result", get_function_version_result)

    get_function_latest_result = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier="$LATEST"
    )
    snapshot.match("get_function_latest_result", get_function_latest_result)


@recorded("test_lambda_api", "TestLambdaAlias::test_alias_lifecycle")
def test_alias_lifecycle(create_lambda_function_aws, lambda_su_role, snapshot, aws_client
):
    """
    The function has 2 (excl. $LATEST) versions:
    Version 1: env with testenv==staging
    Version 2: env with testenv==prod

    Alias A (Version == 1) has a routing config targeting both versions
    Alias B (Version == 1) has no routing config and simply is an alias for Version 1
    Alias C (Version == 2) has no routing config

    """
    function_name = f"alias-fn-{short_uid()}"
    snapshot.add_transformer(SortingTransformer("Aliases", lambda x: x["Name"]))

    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
        Environment={"Variables": {"testenv": "staging"}},
    )
    snapshot.match("create_response", create_response)

    publish_v1 = aws_client.lambda_.publish_version(FunctionName=function_name)
    snapshot.match("publish_v1", publish_v1)

    aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": {"testenv": "prod"}}
    )
    waiter = aws_client.lambda_.get_waiter("function_updated_v2")
    waiter.wait(FunctionName=function_name)

    publish_v2 = aws_client.lambda_.publish_version(FunctionName=function_name)
    snapshot.match("publish_v2", publish_v2)

    create_alias_1_1 = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name="aliasname1_1",
        FunctionVersion="1",
        Description="custom-alias",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
    )
    snapshot.match("create_alias_1_1", create_alias_1_1)
    get_alias_1_1 = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name="aliasname1_1"
    )
    snapshot.match("get_alias_1_1", get_alias_1_1)
    get_function_alias_1_1 = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier="aliasname1_1"
    )
    snapshot.match("get_function_alias_1_1", get_function_alias_1_1)
    get_function_byarn_alias_1_1 = aws_client.lambda_.get_function(
        FunctionName=create_alias_1_1["AliasArn"]
    )
    snapshot.match("get_function_byarn_alias_1_1", get_function_byarn_alias_1_1)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.get_function(
            FunctionName=function_name, Qualifier="aliasdoesnotexist"
        )
    snapshot.match("get_function_alias_notfound_exc", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.get_function(
            FunctionName=create_alias_1_1["AliasArn"].replace(
                "aliasname1_1", "aliasdoesnotexist"
            )
        )
    snapshot.match("get_function_alias_byarn_notfound_exc", e.value.response)

    create_alias_1_2 = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name="aliasname1_2",
        FunctionVersion="1",
        Description="custom-alias",
    )
    snapshot.match("create_alias_1_2", create_alias_1_2)
    get_alias_1_2 = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name="aliasname1_2"
    )
    snapshot.match("get_alias_1_2", get_alias_1_2)

    create_alias_1_3 = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name="aliasname1_3",
        FunctionVersion="1",
    )
    snapshot.match("create_alias_1_3", create_alias_1_3)
    get_alias_1_3 = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name="aliasname1_3"
    )
    snapshot.match("get_alias_1_3", get_alias_1_3)

    create_alias_2 = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name="aliasname2",
        FunctionVersion="2",
        Description="custom-alias",
    )
    snapshot.match("create_alias_2", create_alias_2)
    get_alias_2 = aws_client.lambda_.get_alias(FunctionName=function_name, Name="aliasname2")
    snapshot.match("get_alias_2", get_alias_2)

    # list_aliases can be optionally called with a FunctionVersion to filter only aliases for this version
    list_alias_paginator = aws_client.lambda_.get_paginator("list_aliases")
    list_aliases_for_fnname = list_alias_paginator.paginate(
        FunctionName=function_name, PaginationConfig={"PageSize": 1}
    ).build_full_result()  # 4 aliases
    snapshot.match("list_aliases_for_fnname", list_aliases_for_fnname)
    assert len(list_aliases_for_fnname["Aliases"]) == 4
    # update alias 1_1 to remove routing config
    update_alias_1_1 = aws_client.lambda_.update_alias(
        FunctionName=function_name,
        Name="aliasname1_1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    snapshot.match("update_alias_1_1", update_alias_1_1)
    get_alias_1_1_after_update = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name="aliasname1_1"
    )
    snapshot.match("get_alias_1_1_after_update", get_alias_1_1_after_update)
    list_aliases_for_fnname_after_update = aws_client.lambda_.list_aliases(
        FunctionName=function_name
    )  # 4 aliases
    snapshot.match("list_aliases_for_fnname_after_update", list_aliases_for_fnname_after_update)
    assert len(list_aliases_for_fnname_after_update["Aliases"]) == 4
    # check update without changes
    update_alias_1_2 = aws_client.lambda_.update_alias(
        FunctionName=function_name,
        Name="aliasname1_2",
    )
    snapshot.match("update_alias_1_2", update_alias_1_2)
    get_alias_1_2_after_update = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name="aliasname1_2"
    )
    snapshot.match("get_alias_1_2_after_update", get_alias_1_2_after_update)
    list_aliases_for_fnname_after_update_2 = aws_client.lambda_.list_aliases(
        FunctionName=function_name
    )  # 4 aliases
    snapshot.match(
        "list_aliases_for_fnname_after_update_2", list_aliases_for_fnname_after_update_2
    )
    assert len(list_aliases_for_fnname_after_update["Aliases"]) == 4

    list_aliases_for_version = aws_client.lambda_.list_aliases(
        FunctionName=function_name, FunctionVersion="1"
    )  # 3 aliases
    snapshot.match("list_aliases_for_version", list_aliases_for_version)
    assert len(list_aliases_for_version["Aliases"]) == 3

    delete_alias_response = aws_client.lambda_.delete_alias(
        FunctionName=function_name, Name="aliasname1_1"
    )
    snapshot.match("delete_alias_response", delete_alias_response)

    list_aliases_for_fnname_afterdelete = aws_client.lambda_.list_aliases(
        FunctionName=function_name
    )  # 3 aliases
    snapshot.match("list_aliases_for_fnname_afterdelete", list_aliases_for_fnname_afterdelete)


@recorded("test_lambda_api", "TestLambdaAlias::test_notfound_and_invalid_routingconfigs")
def test_notfound_and_invalid_routingconfigs(aws_client_factory, create_lambda_function_aws, snapshot, lambda_su_role, aws_client
):
    lambda_client = aws_client_factory(config=Config(parameter_validation=False)).lambda_
    function_name = f"alias-fn-{short_uid()}"

    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
        Publish=True,
        Environment={"Variables": {"testenv": "staging"}},
    )
    snapshot.match("create_response", create_response)

    # create 2 versions
    publish_v1 = lambda_client.publish_version(FunctionName=function_name)
    snapshot.match("publish_v1", publish_v1)

    lambda_client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": {"testenv": "prod"}}
    )
    waiter = lambda_client.get_waiter("function_updated_v2")
    waiter.wait(FunctionName=function_name)

    publish_v2 = lambda_client.publish_version(FunctionName=function_name)
    snapshot.match("publish_v2", publish_v2)

    # routing config with more than one entry (which isn't supported atm by AWS)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.8, "2": 0.2}},
        )
    snapshot.match("routing_config_exc_toomany", e.value.response)

    # value > 1
    with pytest.raises(ClientError) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 2}},
        )
    snapshot.match("routing_config_exc_toohigh", e.value.response)

    # value < 0
    with pytest.raises(ClientError) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": -1}},
        )
    snapshot.match("routing_config_exc_subzero", e.value.response)

    # same version as alias pointer
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )
    snapshot.match("routing_config_exc_sameversion", e.value.response)

    # function version 10 doesn't exist
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="10",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    snapshot.match("target_version_doesnotexist", e.value.response)
    # function version 10 doesn't exist (routingconfig)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"10": 0.5}},
        )
    snapshot.match("routing_config_exc_version_doesnotexist", e.value.response)
    # function version $LATEST not supported in function version if it points to more than one version
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="$LATEST",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )
    snapshot.match("target_version_exc_version_latest", e.value.response)
    # function version $LATEST not supported in routing config
    with pytest.raises(ClientError) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}},
        )
    snapshot.match("routing_config_exc_version_latest", e.value.response)
    create_alias_latest = lambda_client.create_alias(
        FunctionName=function_name,
        Name="custom-latest",
        FunctionVersion="$LATEST",
    )
    snapshot.match("create-alias-latest", create_alias_latest)

    # function doesn't exist
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as e:
        lambda_client.create_alias(
            FunctionName=f"{function_name}-unknown",
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    snapshot.match("routing_config_exc_fn_doesnotexist", e.value.response)

    # empty routing config works fine
    create_alias_empty_routingconfig = lambda_client.create_alias(
        FunctionName=function_name,
        Name="custom-empty-routingconfig",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    snapshot.match("create_alias_empty_routingconfig", create_alias_empty_routingconfig)

    # "normal scenario" works:
    create_alias_response = lambda_client.create_alias(
        FunctionName=function_name,
        Name="custom",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    snapshot.match("create_alias_response", create_alias_response)
    # can't create a second alias with the same name
    with pytest.raises(lambda_client.exceptions.ResourceConflictException) as e:
        lambda_client.create_alias(
            FunctionName=function_name,
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    snapshot.match("routing_config_exc_already_exist", e.value.response)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as e:
        lambda_client.get_alias(
            FunctionName=function_name,
            Name="non-existent",
        )
    snapshot.match("alias_does_not_exist_esc", e.value.response)


@recorded("test_lambda_api", "TestLambdaAlias::test_alias_naming")
def test_alias_naming(aws_client, snapshot, create_lambda_function_aws, lambda_su_role):
    """
    numbers can be included and can even start the alias name, but it can't be purely a number
    """
    function_name = f"alias-fn-{short_uid()}"
    create_response = create_lambda_function_aws(
        FunctionName=function_name,
        Handler="index.handler",
        Code={
            "ZipFile": create_lambda_archive(
                load_file(TEST_LAMBDA_PYTHON_ECHO), get_content=True
            )
        },
        PackageType="Zip",
        Role=lambda_su_role,
        Runtime=Runtime.python3_12,
        Environment={"Variables": {"testenv": "staging"}},
    )
    snapshot.match("create_response", create_response)

    publish_v1 = aws_client.lambda_.publish_version(FunctionName=function_name)
    snapshot.match("publish_v1", publish_v1)

    # alias in date format
    alias_name = "2024-01-02"
    create_alias_date = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name=alias_name,
        FunctionVersion="1",
        Description="custom-alias",
    )
    snapshot.match("create_alias_date", create_alias_date)
    get_alias_date = aws_client.lambda_.get_alias(FunctionName=function_name, Name=alias_name)
    snapshot.match("get_alias_date", get_alias_date)
    aws_client.lambda_.invoke(FunctionName=f"{function_name}:{alias_name}")

    # alias as a number should fail
    alias_name_number = "2024"
    with pytest.raises(aws_client.lambda_.exceptions.ClientError) as e:
        aws_client.lambda_.create_alias(
            FunctionName=function_name,
            Name=alias_name_number,
            FunctionVersion="1",
            Description="custom-alias",
        )
    snapshot.match("create_alias_number_exception", e.value.response)


@recorded("test_lambda_api", "TestLambdaPermissions::test_add_lambda_permission_aws")
def test_add_lambda_permission_aws(create_lambda_function, account_id, snapshot, aws_client, region_name
):
    """Testing the add_permission call on lambda, by adding a new resource-based policy to a lambda function"""

    function_name = f"lambda_func-{short_uid()}"
    lambda_create_response = create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )
    snapshot.match("create_lambda", lambda_create_response)
    # create lambda permission
    action = "lambda:InvokeFunction"
    sid = "s3"
    principal = "s3.amazonaws.com"
    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid,
        Principal=principal,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
    )
    snapshot.match("add_permission", resp)

    # fetch lambda policy
    get_policy_result = aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy", get_policy_result)


@recorded("test_lambda_api", "TestLambdaPermissions::test_remove_multi_permissions")
def test_remove_multi_permissions(create_lambda_function, snapshot, aws_client, region_name
):
    """Tests creation and subsequent removal of multiple permissions, including the changes in the policy"""

    function_name = f"lambda_func-{short_uid()}"
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )

    action = "lambda:InvokeFunction"
    sid = "s3"
    principal = "s3.amazonaws.com"
    permission_1_add = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid,
        Principal=principal,
    )
    snapshot.match("add_permission_1", permission_1_add)

    sid_2 = "sqs"
    principal_2 = "sqs.amazonaws.com"
    permission_2_add = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid_2,
        Principal=principal_2,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
    )
    snapshot.match("add_permission_2", permission_2_add)
    policy_response = aws_client.lambda_.get_policy(
        FunctionName=function_name,
    )
    snapshot.match("policy_after_2_add", policy_response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.remove_permission(
            FunctionName=function_name,
            StatementId="non-existent",
        )
    snapshot.match("remove_permission_exception_nonexisting_sid", e.value.response)

    aws_client.lambda_.remove_permission(
        FunctionName=function_name,
        StatementId=sid_2,
    )

    policy_response_removal = aws_client.lambda_.get_policy(
        FunctionName=function_name,
    )
    snapshot.match("policy_after_removal", policy_response_removal)

    policy_response_removal_attempt = aws_client.lambda_.get_policy(
        FunctionName=function_name,
    )
    snapshot.match("policy_after_removal_attempt", policy_response_removal_attempt)

    aws_client.lambda_.remove_permission(
        FunctionName=function_name,
        StatementId=sid,
        RevisionId=policy_response_removal_attempt["RevisionId"],
    )
    # get_policy raises an exception after removing all permissions
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as ctx:
        aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy_exception_removed_all", ctx.value.response)


@recorded("test_lambda_api", "TestLambdaPermissions::test_create_multiple_lambda_permissions")
def test_create_multiple_lambda_permissions(create_lambda_function, snapshot, aws_client):
    """Test creating multiple lambda permissions and checking the policy"""

    function_name = f"test-function-{short_uid()}"

    create_lambda_function(
        func_name=function_name,
        runtime=Runtime.python3_12,
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
    )

    action = "lambda:InvokeFunction"
    sid = "logs"
    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid,
        Principal="logs.amazonaws.com",
    )
    snapshot.match("add_permission_response_1", resp)

    sid = "kinesis"
    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid,
        Principal="kinesis.amazonaws.com",
    )
    snapshot.match("add_permission_response_2", resp)

    policy_response = aws_client.lambda_.get_policy(
        FunctionName=function_name,
    )
    snapshot.match("policy_after_2_add", policy_response)


@recorded("test_lambda_api", "TestLambdaPermissions::test_permission_exceptions")
def test_permission_exceptions(create_lambda_function, account_id, snapshot, aws_client, region_name
):
    function_name = f"lambda_func-{short_uid()}"
    snapshot.add_transformer(snapshot.transform.regex(function_name, "<function-name>"))
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )

    # invalid statement id
    with pytest.raises(aws_client.lambda_.exceptions.ClientError) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action="lambda:InvokeFunction",
            StatementId="example.com",
            Principal="s3.amazonaws.com",
        )
    snapshot.match("add_permission_invalid_statement_id", e.value.response)

    # qualifier mismatch between specified Qualifier and derived ARN from FunctionName
    with pytest.raises(aws_client.lambda_.exceptions.InvalidParameterValueException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=f"{function_name}:alias-not-42",
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            Qualifier="42",
        )
    snapshot.match("add_permission_fn_qualifier_mismatch", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.InvalidParameterValueException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=f"{function_name}:$LATEST",
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            Qualifier="$LATEST",
        )
    snapshot.match("add_permission_fn_qualifier_latest", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.InvalidParameterValueException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action="lambda:InvokeFunction",
            StatementId="lambda",
            Principal="invalid.nonaws.com",
            # TODO: implement AWS principle matching based on explicit list
            # Principal="invalid.amazonaws.com",
            SourceAccount=account_id,
        )
    snapshot.match("add_permission_principal_invalid", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.get_policy(FunctionName="doesnotexist")
    snapshot.match("get_policy_fn_doesnotexist", e.value.response)

    non_existing_version = "77"
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.get_policy(
            FunctionName=function_name, Qualifier=non_existing_version
        )
    snapshot.match("get_policy_fn_version_doesnotexist", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.add_permission(
            FunctionName="doesnotexist",
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        )
    snapshot.match("add_permission_fn_doesnotexist", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.remove_permission(
            FunctionName=function_name,
            StatementId="s3",
        )
    snapshot.match("remove_permission_policy_doesnotexist", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=f"{function_name}:alias-doesnotexist",
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        )
    snapshot.match("add_permission_fn_alias_doesnotexist", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,  # same behavior with version postfix :42
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            Qualifier="42",
        )
    snapshot.match("add_permission_fn_version_doesnotexist", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ClientError) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            Qualifier="invalid-qualifier-with-?-char",
        )
    snapshot.match("add_permission_fn_qualifier_invalid", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action="lambda:InvokeFunction",
            StatementId="s3",
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            # NOTE: $ is allowed here because "$LATEST" is a valid version
            Qualifier="valid-with-$-but-doesnotexist",
        )
    snapshot.match("add_permission_fn_qualifier_valid_doesnotexist", e.value.response)

    aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action="lambda:InvokeFunction",
        StatementId="s3",
        Principal="s3.amazonaws.com",
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
    )

    sid = "s3"
    with pytest.raises(aws_client.lambda_.exceptions.ResourceConflictException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action="lambda:InvokeFunction",
            StatementId=sid,
            Principal="s3.amazonaws.com",
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        )
    snapshot.match("add_permission_conflicting_statement_id", e.value.response)

    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.remove_permission(
            FunctionName="doesnotexist",
            StatementId=sid,
        )
    snapshot.match("remove_permission_fn_doesnotexist", e.value.response)

    non_existing_alias = "alias-doesnotexist"
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.remove_permission(
            FunctionName=function_name, StatementId=sid, Qualifier=non_existing_alias
        )
    snapshot.match("remove_permission_fn_alias_doesnotexist", e.value.response)


@recorded("test_lambda_api", "TestLambdaPermissions::test_add_lambda_permission_fields")
def test_add_lambda_permission_fields(create_lambda_function, account_id, snapshot, aws_client, region_name
):
    # prevent resource transformer from matching the LS default username "root", which collides with other resources
    snapshot.add_transformer(
        snapshot.transform.jsonpath(
            "add_permission_principal_arn..Statement.Principal.AWS",
            "<user_arn>",
            reference_replacement=False,
        ),
        priority=-1,
    )

    function_name = f"lambda_func-{short_uid()}"
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )

    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action="lambda:InvokeFunction",
        StatementId="wilcard",
        Principal="*",
        SourceAccount=account_id,
    )
    snapshot.match("add_permission_principal_wildcard", resp)

    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action="lambda:InvokeFunction",
        StatementId="lambda",
        Principal="lambda.amazonaws.com",
        SourceAccount=account_id,
    )
    snapshot.match("add_permission_principal_service", resp)

    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action="lambda:InvokeFunction",
        StatementId="account-id",
        Principal=account_id,
    )
    snapshot.match("add_permission_principal_account", resp)

    user_arn = aws_client.sts.get_caller_identity()["Arn"]
    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action="lambda:InvokeFunction",
        StatementId="user-arn",
        Principal=user_arn,
        SourceAccount=account_id,
    )
    snapshot.match("add_permission_principal_arn", resp)
    assert json.loads(resp["Statement"])["Principal"]["AWS"] == user_arn

    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        StatementId="urlPermission",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        # optional fields:
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        SourceAccount=account_id,
        PrincipalOrgID="o-1234567890",
        # "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"
        FunctionUrlAuthType="NONE",
    )
    snapshot.match("add_permission_optional_fields", resp)

    # create alexa skill lambda permission:
    # https://developer.amazon.com/en-US/docs/alexa/custom-skills/host-a-custom-skill-as-an-aws-lambda-function.html#use-aws-cli
    response = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        StatementId="alexaSkill",
        Action="lambda:InvokeFunction",
        Principal="*",
        # alexa skill token cannot be used together with source account and source arn
        EventSourceToken="amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
    )
    snapshot.match("add_permission_alexa_skill", response)


@recorded("test_lambda_api", "TestLambdaPermissions::test_lambda_permission_fn_versioning")
def test_lambda_permission_fn_versioning(create_lambda_function, account_id, snapshot, aws_client, region_name
):
    """Testing how lambda permissions behave when publishing different function versions and using qualifiers"""
    function_name = f"lambda_func-{short_uid()}"
    create_lambda_function(
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )

    # create lambda permission
    action = "lambda:InvokeFunction"
    sid = "s3"
    principal = "s3.amazonaws.com"
    resp = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=sid,
        Principal=principal,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
    )
    snapshot.match("add_permission", resp)

    # fetch lambda policy
    get_policy_result_base = aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy", get_policy_result_base)

    # publish version
    fn_version_result = aws_client.lambda_.publish_version(FunctionName=function_name)
    snapshot.match("publish_version_result", fn_version_result)
    fn_version = fn_version_result["Version"]
    aws_client.lambda_.get_waiter("published_version_active").wait(FunctionName=function_name)
    get_function_result_after_publish = aws_client.lambda_.get_function(
        FunctionName=function_name
    )
    snapshot.match("get_function_result_after_publishing", get_function_result_after_publish)
    get_policy_result_after_publishing = aws_client.lambda_.get_policy(
        FunctionName=function_name
    )
    snapshot.match("get_policy_after_publishing_latest", get_policy_result_after_publishing)

    # permissions apply per function unless providing a specific version or alias
    with pytest.raises(aws_client.lambda_.exceptions.ResourceNotFoundException) as e:
        aws_client.lambda_.get_policy(FunctionName=function_name, Qualifier=fn_version)
    snapshot.match("get_policy_after_publishing_new_version", e.value.response)

    # create lambda permission with the same sid for specific function version
    aws_client.lambda_.add_permission(
        FunctionName=f"{function_name}:{fn_version}",  # version suffix matching Qualifier
        Action=action,
        StatementId=sid,
        Principal=principal,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        Qualifier=fn_version,
    )
    get_policy_result_version = aws_client.lambda_.get_policy(
        FunctionName=function_name, Qualifier=fn_version
    )
    snapshot.match("get_policy_version", get_policy_result_version)

    alias_name = "permission-alias"
    create_alias_response = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name=alias_name,
        FunctionVersion=fn_version,
    )
    snapshot.match("create_alias_response", create_alias_response)

    get_alias_response = aws_client.lambda_.get_alias(
        FunctionName=function_name, Name=alias_name
    )
    snapshot.match("get_alias", get_alias_response)
    assert get_alias_response["RevisionId"] == create_alias_response["RevisionId"]

    sid = "s3"
    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            Action=action,
            StatementId=sid,
            Principal=principal,
            SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
            Qualifier=alias_name,
            RevisionId="wrong",
        )
    snapshot.match("add_permission_alias_revision_exception", e.value.response)

    # create lambda permission with the same sid for specific alias
    aws_client.lambda_.add_permission(
        FunctionName=f"{function_name}:{alias_name}",  # alias suffix matching Qualifier
        Action=action,
        StatementId=sid,
        Principal=principal,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        Qualifier=alias_name,
        RevisionId=create_alias_response["RevisionId"],
    )
    get_policy_result_alias = aws_client.lambda_.get_policy(
        FunctionName=function_name, Qualifier=alias_name
    )
    snapshot.match("get_policy_alias", get_policy_result_alias)

    get_policy_result = aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy_after_adding_to_new_version", get_policy_result)

    # create lambda permission with other sid and correct revision id
    aws_client.lambda_.add_permission(
        FunctionName=function_name,
        Action=action,
        StatementId=f"{sid}_2",
        Principal=principal,
        SourceArn=arns.s3_bucket_arn("test-bucket", region=region_name),
        RevisionId=get_policy_result["RevisionId"],
    )

    get_policy_result_adding_2 = aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy_after_adding_2", get_policy_result_adding_2)


@recorded("test_lambda_api", "TestLambdaRevisions::test_function_revisions_basic")
def test_function_revisions_basic(create_lambda_function, snapshot, aws_client):
    """Tests basic revision id lifecycle for creating and updating functions"""
    function_name = f"fn-{short_uid()}"
    zip_file_content = load_file(TEST_LAMBDA_PYTHON_ECHO_ZIP, mode="rb")

    # rev1: create function
    # The fixture waits until the function is not in Pending state anymore
    create_function_response = create_lambda_function(
        func_name=function_name,
        zip_file=zip_file_content,
        handler="index.handler",
        runtime=Runtime.python3_12,
    )
    snapshot.match("create_function_response_rev1", create_function_response)
    rev1_create_function = create_function_response["CreateFunctionResponse"]["RevisionId"]

    # rev2: created function becomes active (the fixture does the waiting)
    get_function_response_rev2 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_response_rev2", get_function_response_rev2)
    rev2_active_state = get_function_response_rev2["Configuration"]["RevisionId"]
    # State change from Pending to Active causes revision id change!
    # Lambda function states: https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
    assert rev1_create_function != rev2_active_state

    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.update_function_code(
            FunctionName=function_name,
            ZipFile=zip_file_content,
            RevisionId="wrong",
        )
    snapshot.match("update_function_revision_exception", e.value.response)

    # rev3: update function code
    update_fn_code_response = aws_client.lambda_.update_function_code(
        FunctionName=function_name,
        ZipFile=zip_file_content,
        RevisionId=rev2_active_state,
    )
    snapshot.match("update_function_code_response_rev3", update_fn_code_response)
    rev3_update_fn_code = update_fn_code_response["RevisionId"]
    assert rev2_active_state != rev3_update_fn_code

    # rev4: function code update completed
    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)
    get_function_response_rev4 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_response_rev4", get_function_response_rev4)
    rev4_fn_code_updated = get_function_response_rev4["Configuration"]["RevisionId"]
    assert rev3_update_fn_code != rev4_fn_code_updated

    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.update_function_configuration(
            FunctionName=function_name, Runtime=Runtime.python3_8, RevisionId="wrong"
        )
    snapshot.match("update_function_configuration_revision_exception", e.value.response)

    # rev5: update function configuration
    update_fn_config_response = aws_client.lambda_.update_function_configuration(
        FunctionName=function_name, Runtime=Runtime.python3_8, RevisionId=rev4_fn_code_updated
    )
    snapshot.match("update_function_configuration_response_rev5", update_fn_config_response)
    rev5_fn_config_update = update_fn_config_response["RevisionId"]
    assert rev4_fn_code_updated != rev5_fn_config_update

    # rev6: function configuration updated completed
    aws_client.lambda_.get_waiter("function_updated_v2").wait(FunctionName=function_name)
    get_function_response_rev6 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_response_rev6", get_function_response_rev6)
    rev6_fn_config_update_done = get_function_response_rev6["Configuration"]["RevisionId"]
    assert rev5_fn_config_update != rev6_fn_config_update_done


@recorded("test_lambda_api", "TestLambdaRevisions::test_function_revisions_version_and_alias")
def test_function_revisions_version_and_alias(create_lambda_function, snapshot, aws_client
):
    """Tests revision id lifecycle for 1) publishing function versions and 2) creating and updating aliases
    Shortcut notation to clarify branching:
    revN: revision counter for $LATEST
    rev_vN: revision counter for versions
    rev_aN: revision counter for aliases
    """
    # rev1: create function
    function_name = f"fn-{short_uid()}"
    create_function_response = create_lambda_function(
        func_name=function_name,
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        runtime=Runtime.python3_12,
    )
    snapshot.match("create_function_response_rev1", create_function_response)
    rev1_create_function = create_function_response["CreateFunctionResponse"]["RevisionId"]

    # rev2: created function becomes active
    get_function_response_rev2 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_active_rev2", get_function_response_rev2)
    rev2_active_state = get_function_response_rev2["Configuration"]["RevisionId"]
    assert rev1_create_function != rev2_active_state

    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.publish_version(FunctionName=function_name, RevisionId="wrong")
    snapshot.match("publish_version_revision_exception", e.value.response)

    # rev_v1: publish version
    fn_version_response = aws_client.lambda_.publish_version(
        FunctionName=function_name, RevisionId=rev2_active_state
    )
    snapshot.match("publish_version_response_rev_v1", fn_version_response)
    function_version = fn_version_response["Version"]
    rev_v1_publish_version = fn_version_response["RevisionId"]
    assert rev2_active_state != rev_v1_publish_version

    # rev_v2: published version becomes active does NOT change revision
    aws_client.lambda_.get_waiter("published_version_active").wait(FunctionName=function_name)
    get_function_response_rev_v2 = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier=function_version
    )
    snapshot.match("get_function_published_version_rev_v2", get_function_response_rev_v2)
    rev_v2_publish_version_done = get_function_response_rev_v2["Configuration"]["RevisionId"]
    assert rev_v1_publish_version == rev_v2_publish_version_done

    # publish_version changes the revision id of $LATEST
    get_function_response_rev3 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_latest_rev3", get_function_response_rev3)
    rev3_publish_version = get_function_response_rev3["Configuration"]["RevisionId"]
    assert rev2_active_state != rev3_publish_version

    # rev_a1: create alias
    alias_name = "revision_alias"
    create_alias_response = aws_client.lambda_.create_alias(
        FunctionName=function_name,
        Name=alias_name,
        FunctionVersion=function_version,
    )
    snapshot.match("create_alias_response_rev_a1", create_alias_response)
    rev_a1_create_alias = create_alias_response["RevisionId"]
    assert rev_v2_publish_version_done != rev_a1_create_alias

    # create_alias does NOT change the revision id of $LATEST
    get_function_response_rev4 = aws_client.lambda_.get_function(FunctionName=function_name)
    snapshot.match("get_function_latest_rev4", get_function_response_rev4)
    rev4_create_alias = get_function_response_rev4["Configuration"]["RevisionId"]
    assert rev3_publish_version == rev4_create_alias

    # create_alias does NOT change the revision id of versions
    get_function_response_rev_v3 = aws_client.lambda_.get_function(
        FunctionName=function_name, Qualifier=function_version
    )
    snapshot.match("get_function_published_version_rev_v3", get_function_response_rev_v3)
    rev_v3_create_alias = get_function_response_rev_v3["Configuration"]["RevisionId"]
    assert rev_v2_publish_version_done == rev_v3_create_alias

    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.update_alias(
            FunctionName=function_name,
            Name=alias_name,
            RevisionId="wrong",
        )
    snapshot.match("update_alias_revision_exception", e.value.response)

    # rev_a2: update alias
    update_alias_response = aws_client.lambda_.update_alias(
        FunctionName=function_name,
        Name=alias_name,
        Description="something changed",
        RevisionId=rev_a1_create_alias,
    )
    snapshot.match("update_alias_response_rev_a2", update_alias_response)
    rev_a2_update_alias = update_alias_response["RevisionId"]
    assert rev_a1_create_alias != rev_a2_update_alias


@recorded("test_lambda_api", "TestLambdaRevisions::test_function_revisions_permissions")
def test_function_revisions_permissions(create_lambda_function, snapshot, aws_client):
    """Tests revision id lifecycle for adding and removing permissions"""
    # rev1: create function
    function_name = f"fn-{short_uid()}"
    create_lambda_function(
        func_name=function_name,
        handler_file=TEST_LAMBDA_PYTHON_ECHO,
        runtime=Runtime.python3_12,
    )

    # rev2: created function becomes active
    get_function_response_rev2 = aws_client.lambda_.get_function(FunctionName=function_name)
    rev2_active_state = get_function_response_rev2["Configuration"]["RevisionId"]

    sid = "s3"
    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.add_permission(
            FunctionName=function_name,
            StatementId=sid,
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            RevisionId="wrong",
        )
    snapshot.match("add_permission_revision_exception", e.value.response)

    # rev3: add permission
    add_permission_response = aws_client.lambda_.add_permission(
        FunctionName=function_name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        RevisionId=rev2_active_state,
    )
    snapshot.match("add_permission_response", add_permission_response)

    get_policy_response_rev3 = aws_client.lambda_.get_policy(FunctionName=function_name)
    snapshot.match("get_policy_response_rev3", get_policy_response_rev3)
    rev3policy_added_permission = get_policy_response_rev3["RevisionId"]
    assert rev2_active_state != rev3policy_added_permission
    # function revision is the same as policy revision
    get_function_response_rev3 = aws_client.lambda_.get_function(FunctionName=function_name)
    rev3_added_permission = get_function_response_rev3["Configuration"]["RevisionId"]
    assert rev3_added_permission == rev3policy_added_permission

    with pytest.raises(aws_client.lambda_.exceptions.PreconditionFailedException) as e:
        aws_client.lambda_.remove_permission(
            FunctionName=function_name, StatementId=sid, RevisionId="wrong"
        )
    snapshot.match("remove_permission_revision_exception", e.value.response)

    # rev4: remove permission
    remove_permission_response = aws_client.lambda_.remove_permission(
        FunctionName=function_name, StatementId=sid, RevisionId=rev3_added_permission
    )
    snapshot.match("remove_permission_response", remove_permission_response)

    get_function_response_rev4 = aws_client.lambda_.get_function(FunctionName=function_name)
    rev4_removed_permission = get_function_response_rev4["Configuration"]["RevisionId"]
    assert rev3_added_permission != rev4_removed_permission



# ---- tests/aws/services/lambda_/test_lambda.py (invoke) -------------------------------------------------
TEST_LAMBDA_NODEJS_ECHO = "echo.js"
TEST_LAMBDA_TIMEOUT_PYTHON = "timeout.js"


@fixture
def invocation_echo_lambda(create_lambda_function: Any) -> str:
    """TestLambdaFeatures::invocation_echo_lambda, its nodejs16.x parameter (Node 22 here)."""
    function_name = f"echo-func-{short_uid()}"
    creation_result = create_lambda_function(
        handler_file=TEST_LAMBDA_NODEJS_ECHO,
        func_name=function_name,
        runtime="nodejs22.x",
    )
    return creation_result["CreateFunctionResponse"]["FunctionArn"]


def read_streams(payload: Any) -> Any:
    return payload


@recorded("test_lambda", "TestLambdaFeatures::test_invocation_type_request_response[nodejs16.x]")
def test_invocation_type_request_response(snapshot, invocation_echo_lambda, aws_client):
    """Test invocation with InvocationType RequestResponse explicitly set"""
    result = aws_client.lambda_.invoke(
        FunctionName=invocation_echo_lambda,
        Payload=b"{}",
        InvocationType="RequestResponse",
    )
    snapshot.match("invoke-result", result)


@recorded("test_lambda", "TestLambdaFeatures::test_invocation_type_event[nodejs16.x]")
def test_invocation_type_event(snapshot, invocation_echo_lambda, aws_client):
    """Check invocation response for type event"""
    function_arn = invocation_echo_lambda
    result = aws_client.lambda_.invoke(
        FunctionName=function_arn, Payload=b"{}", InvocationType="Event"
    )
    result = read_streams(result)
    snapshot.match("invoke-result", result)

    assert result["StatusCode"] == 202
    # lambda-canary: the original then reads the function's CloudWatch logs, which the emulator does not serve


@recorded("test_lambda", "TestLambdaFeatures::test_invocation_type_dry_run[nodejs16.x]")
def test_invocation_type_dry_run(snapshot, invocation_echo_lambda, aws_client):
    """Check invocation response for type dryrun"""
    result = aws_client.lambda_.invoke(
        FunctionName=invocation_echo_lambda, Payload=b"{}", InvocationType="DryRun"
    )
    result = read_streams(result)
    snapshot.match("invoke-result", result)

    assert result["StatusCode"] == 204


@recorded("test_lambda", "TestLambdaBehavior::test_lambda_invoke_with_timeout")
def test_lambda_invoke_with_timeout(create_lambda_function, snapshot, aws_client):
    func_name = f"test_lambda_{short_uid()}"
    create_result = create_lambda_function(
        func_name=func_name,
        handler_file=TEST_LAMBDA_TIMEOUT_PYTHON,
        runtime=Runtime.python3_12,
        client=aws_client.lambda_,
        timeout=1,
    )
    snapshot.match("create-result", create_result)

    result = aws_client.lambda_.invoke(FunctionName=func_name, Payload=json.dumps({"wait": 2}))
    snapshot.match("invoke-result", result)
    # lambda-canary: the original then reads the function's CloudWatch logs, which the emulator does not serve
