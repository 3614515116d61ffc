"""API Gateway sequences recorded against AWS: LocalStack's AWS-validated tests (Apache-2.0), each registered
with the recording of its responses. The code is LocalStack's, cut to what the emulator serves; changes are
marked `# lambda-canary:`."""
# ruff: noqa: E501, RUF005, RUF059
# LocalStack's test code is kept as written (its layout included) so it stays comparable with the original.

from __future__ import annotations

import base64
import json
import time
from operator import itemgetter
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance.harness import fixture, recorded
from conformance.localstack_compat import (
    APIGATEWAY_ASSUME_ROLE_POLICY,
    LAMBDA_RESPONSE_FROM_BODY,
    TEST_LAMBDA_AWS_PROXY,
    Runtime,
    SortingTransformer,
    api_invoke_url,
    is_aws_cloud,
    requests,
    retry,
    short_uid,
)

CLOUDFRONT_SKIP_HEADERS = [
    "$..Via",
    "$..X-Amz-Cf-Id",
    "$..X-Amz-Cf-Pop",
    "$..X-Cache",
    "$..CloudFront-Forwarded-Proto",
    "$..CloudFront-Is-Desktop-Viewer",
    "$..CloudFront-Is-Mobile-Viewer",
    "$..CloudFront-Is-SmartTV-Viewer",
    "$..CloudFront-Is-Tablet-Viewer",
    "$..CloudFront-Viewer-ASN",
    "$..CloudFront-Viewer-Country",
]


# ---- fixtures (LocalStack's, from the test modules named) ------------------------------------------------
@fixture
def create_api_for_deployment(aws_client: Any, create_rest_apigw: Any) -> Any:
    """tests/aws/services/apigateway/test_apigateway_canary.py::create_api_for_deployment"""

    def _create(response_template=None):
        # create API, method, integration, deployment
        api_id, _, root_id = create_rest_apigw()

        aws_client.apigateway.put_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            authorizationType="NONE",
        )

        aws_client.apigateway.put_method_response(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            statusCode="200",
        )

        aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
        )

        response_template = response_template or {
            "statusCode": 200,
            "message": "default deployment",
        }
        aws_client.apigateway.put_integration_response(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            statusCode="200",
            selectionPattern="",
            responseTemplates={"application/json": json.dumps(response_template)},
        )

        return api_id, root_id

    return _create


@fixture
def create_api_for_deployment_id(apigw_create_rest_api: Any, aws_client: Any) -> Any:
    """tests/aws/services/apigateway/test_apigateway_api.py::TestApiGatewayStage::create_api_for_deployment"""

    def _create() -> str:
        # Create REST API with a MOCK method (required for deployment)
        response = apigw_create_rest_api(name=f"test-stages-{short_uid()}")
        api_id = response["id"]
        root_id = response["rootResourceId"]

        aws_client.apigateway.put_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            authorizationType="NONE",
        )
        aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
        )
        return api_id

    return _create


@fixture
def _create_api_with_stage(aws_client: Any, create_rest_apigw: Any, apigw_add_transformers: Any, snapshot: Any) -> Any:
    """tests/aws/services/apigateway/test_apigateway_common.py::TestStages::_create_api_with_stage"""
    client = aws_client.apigateway

    def _create():
        # create API, method, integration, deployment
        api_id, api_name, root_id = create_rest_apigw()
        client.put_method(
            restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE"
        )
        client.put_integration(
            restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK"
        )
        response = client.create_deployment(restApiId=api_id)
        deployment_id = response["id"]

        # create documentation
        client.create_documentation_part(
            restApiId=api_id,
            location={"type": "API"},
            properties=json.dumps({"foo": "bar"}),
        )
        client.create_documentation_version(restApiId=api_id, documentationVersion="v123")

        # create stage
        response = client.create_stage(
            restApiId=api_id,
            stageName="s1",
            deploymentId=deployment_id,
            description="my stage",
            documentationVersion="v123",
        )
        snapshot.match("create-stage", response)

        return api_id

    return _create


# ---- sequences -------------------------------------------------------------------------------------------
@recorded("test_apigateway_canary", "TestStageCrudCanary::test_create_update_stages")
def test_create_update_stages(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.key_value("id"),
        ]
    )
    api_id, resource_id = create_api_for_deployment()

    create_deployment_1 = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment-1", create_deployment_1)
    deployment_id = create_deployment_1["id"]

    aws_client.apigateway.update_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="GET",
        statusCode="200",
        patchOperations=[
            {
                "op": "replace",
                "path": "/responseTemplates/application~1json",
                "value": json.dumps({"statusCode": 200, "message": "second deployment"}),
            }
        ],
    )

    create_deployment_2 = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment-2", create_deployment_2)
    deployment_id_2 = create_deployment_2["id"]

    stage_name = "dev"
    create_stage = aws_client.apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name,
        deploymentId=deployment_id,
        description="dev stage",
        variables={
            "testVar": "default",
        },
        canarySettings={
            "deploymentId": deployment_id_2,
            "percentTraffic": 50,
            "stageVariableOverrides": {
                "testVar": "canary",
            },
        },
    )
    snapshot.match("create-stage", create_stage)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage", get_stage)

    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {
                "op": "replace",
                "path": "/canarySettings/stageVariableOverrides/testVar",
                "value": "updated",
            },
        ],
    )
    snapshot.match("update-stage-canary-settings-overrides", update_stage)

    # remove canary settings
    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "remove", "path": "/canarySettings"},
        ],
    )
    snapshot.match("update-stage-remove-canary-settings", update_stage)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage-after-remove", get_stage)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_create_canary_deployment_with_stage")
def test_create_canary_deployment_with_stage(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.key_value("id"),
        ]
    )
    api_id, resource_id = create_api_for_deployment()

    create_deployment = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment", create_deployment)
    deployment_id = create_deployment["id"]

    stage_name = "dev"
    create_stage = aws_client.apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name,
        deploymentId=deployment_id,
        description="dev stage",
        variables={
            "testVar": "default",
        },
    )
    snapshot.match("create-stage", create_stage)

    create_canary_deployment = aws_client.apigateway.create_deployment(
        restApiId=api_id,
        stageName=stage_name,
        canarySettings={
            "percentTraffic": 50,
            "stageVariableOverrides": {
                "testVar": "canary",
            },
        },
    )
    snapshot.match("create-canary-deployment", create_canary_deployment)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage", get_stage)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_create_canary_deployment")
def test_create_canary_deployment(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.key_value("id"),
        ]
    )
    api_id, resource_id = create_api_for_deployment()

    create_deployment = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment", create_deployment)
    deployment_id = create_deployment["id"]

    stage_name_1 = "dev1"
    create_stage = aws_client.apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name_1,
        deploymentId=deployment_id,
        description="dev stage",
        variables={
            "testVar": "default",
        },
        canarySettings={
            "deploymentId": deployment_id,
            "percentTraffic": 40,
            "stageVariableOverrides": {
                "testVar": "canary1",
            },
        },
    )
    snapshot.match("create-stage", create_stage)

    create_canary_deployment = aws_client.apigateway.create_deployment(
        restApiId=api_id,
        stageName=stage_name_1,
        canarySettings={
            "percentTraffic": 50,
            "stageVariableOverrides": {
                "testVar": "canary2",
            },
        },
    )
    snapshot.match("create-canary-deployment", create_canary_deployment)
    canary_deployment_id = create_canary_deployment["id"]

    get_stage_1 = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name_1,
    )
    snapshot.match("get-stage-1", get_stage_1)

    stage_name_2 = "dev2"
    create_stage_2 = aws_client.apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name_2,
        deploymentId=deployment_id,
        description="dev stage",
        variables={
            "testVar": "default",
        },
        canarySettings={
            "deploymentId": canary_deployment_id,
            "percentTraffic": 60,
            "stageVariableOverrides": {
                "testVar": "canary-overridden",
            },
        },
    )
    snapshot.match("create-stage-2", create_stage_2)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_stage(
            restApiId=api_id,
            stageName="dev3",
            deploymentId=deployment_id,
            description="dev stage",
            canarySettings={
                "deploymentId": "deploy",
            },
        )
    snapshot.match("bad-canary-deployment-id", e.value.response)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_create_canary_deployment_by_stage_update")
def test_create_canary_deployment_by_stage_update(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.key_value("id"),
        ]
    )
    api_id, resource_id = create_api_for_deployment()

    create_deployment = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment", create_deployment)
    deployment_id = create_deployment["id"]

    create_deployment_2 = aws_client.apigateway.create_deployment(restApiId=api_id)
    snapshot.match("create-deployment-2", create_deployment_2)
    deployment_id_2 = create_deployment_2["id"]

    stage_name = "dev"
    create_stage = aws_client.apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name,
        deploymentId=deployment_id,
        description="dev stage",
        variables={
            "testVar": "default",
        },
    )
    snapshot.match("create-stage", create_stage)

    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {
                "op": "replace",
                "path": "/canarySettings/deploymentId",
                "value": deployment_id_2,
            },
        ],
    )
    snapshot.match("update-stage-with-deployment", update_stage)

    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {
                "op": "remove",
                "path": "/canarySettings",
            },
        ],
    )
    snapshot.match("remove-stage-canary", update_stage)

    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"}
        ],
    )
    snapshot.match("update-stage-with-percent", update_stage)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage", get_stage)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_create_canary_deployment_validation")
def test_create_canary_deployment_validation(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    api_id, resource_id = create_api_for_deployment()

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_deployment(
            restApiId=api_id,
            canarySettings={
                "percentTraffic": 50,
                "stageVariableOverrides": {
                    "testVar": "canary",
                },
            },
        )
    snapshot.match("create-canary-deployment-no-stage", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_deployment(
            restApiId=api_id,
            stageName="",
            canarySettings={
                "percentTraffic": 50,
                "stageVariableOverrides": {
                    "testVar": "canary",
                },
            },
        )
    snapshot.match("create-canary-deployment-empty-stage", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_deployment(
            restApiId=api_id,
            stageName="non-existing",
            canarySettings={
                "percentTraffic": 50,
                "stageVariableOverrides": {
                    "testVar": "canary",
                },
            },
        )
    snapshot.match("create-canary-deployment-non-existing-stage", e.value.response)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_update_stage_canary_deployment_validation")
def test_update_stage_canary_deployment_validation(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformer(snapshot.transform.key_value("deploymentId"))
    api_id, resource_id = create_api_for_deployment()

    stage_name = "dev"
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage", get_stage)

    aws_client.apigateway.create_deployment(
        restApiId=api_id,
        stageName=stage_name,
        canarySettings={
            "percentTraffic": 50,
            "stageVariableOverrides": {
                "testVar": "canary",
            },
        },
    )

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "remove", "path": "/canarySettings/stageVariableOverrides"},
            ],
        )
    snapshot.match("update-stage-canary-settings-remove-overrides", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "remove", "path": "/canarySettings/badPath"},
            ],
        )
    snapshot.match("update-stage-canary-settings-bad-path", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "replace", "path": "/canarySettings", "value": "test"},
            ],
        )
    snapshot.match("update-stage-canary-settings-bad-path-2", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "replace", "path": "/canarySettings/badPath", "value": "badPath"},
            ],
        )
    snapshot.match("update-stage-canary-settings-replace-bad-path", e.value.response)

    # create deployment and stage with no canary settings
    stage_no_canary = "dev2"
    deployment_2 = aws_client.apigateway.create_deployment(
        restApiId=api_id, stageName=stage_no_canary
    )
    deployment_2_id = deployment_2["id"]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_no_canary,
            patchOperations=[
                # you need to use replace for every canarySettings, `add` is not supported
                {"op": "add", "path": "/canarySettings/deploymentId", "value": deployment_2_id},
            ],
        )
    snapshot.match("update-stage-add-deployment", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_no_canary,
            patchOperations=[
                {"op": "replace", "path": "/canarySettings/deploymentId", "value": "deploy"},
            ],
        )
    snapshot.match("update-stage-no-deployment", e.value.response)


@recorded("test_apigateway_canary", "TestStageCrudCanary::test_update_stage_with_copy_ops")
def test_update_stage_with_copy_ops(create_api_for_deployment, aws_client, create_rest_apigw, snapshot
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.key_value("id"),
        ]
    )
    api_id, resource_id = create_api_for_deployment()

    stage_name = "dev"
    deployment_1 = aws_client.apigateway.create_deployment(
        restApiId=api_id,
        stageName=stage_name,
        variables={
            "testVar": "test",
            "testVar2": "test2",
        },
    )
    snapshot.match("deployment-1", deployment_1)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {
                    "op": "copy",
                    "path": "/canarySettings/stageVariableOverrides",
                    "from": "/variables",
                },
                {"op": "copy", "path": "/canarySettings/deploymentId", "from": "/deploymentId"},
            ],
        )
    snapshot.match("copy-with-bad-statement", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {
                    "op": "copy",
                    "from": "/canarySettings/stageVariableOverrides",
                    "path": "/variables",
                },
                {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            ],
        )
    snapshot.match("copy-with-no-replace", e.value.response)

    update_stage = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "value": "0.0", "path": "/canarySettings/percentTraffic"},
            # the example in the docs is misleading, the copy op only works from a canary to promote it to default
            {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            {
                "op": "copy",
                "from": "/canarySettings/stageVariableOverrides",
                "path": "/variables",
            },
        ],
    )
    snapshot.match("update-stage-with-copy", update_stage)

    deployment_canary = aws_client.apigateway.create_deployment(
        restApiId=api_id,
        stageName=stage_name,
        canarySettings={
            "percentTraffic": 50,
            "stageVariableOverrides": {"testVar": "override"},
        },
    )
    snapshot.match("deployment-canary", deployment_canary)

    get_stage = aws_client.apigateway.get_stage(
        restApiId=api_id,
        stageName=stage_name,
    )
    snapshot.match("get-stage", get_stage)

    update_stage_2 = aws_client.apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "value": "0.0", "path": "/canarySettings/percentTraffic"},
            # copy is said to be unsupported, but it is partially. It actually doesn't copy, just apply the first
            # call above, create the canary with default params and ignore what's under
            # https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html#UpdateStage-Patch
            {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            {
                "op": "copy",
                "from": "/canarySettings/stageVariableOverrides",
                "path": "/variables",
            },
        ],
    )
    snapshot.match("update-stage-with-copy-2", update_stage_2)

@recorded("test_apigateway_common", "TestStages::test_create_update_stages")
def test_create_update_stages_common(_create_api_with_stage, aws_client, create_rest_apigw, snapshot
):
    client = aws_client.apigateway
    api_id = _create_api_with_stage()

    # negative tests for immutable/non-updateable attributes

    with pytest.raises(ClientError) as ctx:
        client.update_stage(
            restApiId=api_id,
            stageName="s1",
            patchOperations=[
                {"op": "replace", "path": "/documentation_version", "value": "123"}
            ],
        )
    snapshot.match("error-update-doc-version", ctx.value.response)

    with pytest.raises(ClientError) as ctx:
        client.update_stage(
            restApiId=api_id,
            stageName="s1",
            patchOperations=[
                {"op": "replace", "path": "/tags/tag1", "value": "value1"},
            ],
        )
    snapshot.match("error-update-tags", ctx.value.response)

    # update & get stage
    response = client.update_stage(
        restApiId=api_id,
        stageName="s1",
        patchOperations=[
            {"op": "replace", "path": "/description", "value": "stage new"},
            {"op": "replace", "path": "/variables/var1", "value": "test"},
            {"op": "replace", "path": "/variables/var2", "value": "test2"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "123"},
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/test/GET/throttling/burstLimit", "value": "124"},
        ],
    )
    snapshot.match("update-stage", response)

    response = client.get_stage(restApiId=api_id, stageName="s1")
    snapshot.match("get-stage", response)

    # show that updating */* does not override previously set values, only
    # provides default values then like shown above
    response = client.update_stage(
        restApiId=api_id,
        stageName="s1",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"},
        ],
    )
    snapshot.match("update-stage-override", response)


@recorded("test_apigateway_common", "TestStages::test_update_stage_remove_wildcard")
def test_update_stage_remove_wildcard(aws_client, _create_api_with_stage, snapshot):
    client = aws_client.apigateway
    api_id = _create_api_with_stage()

    response = client.get_stage(restApiId=api_id, stageName="s1")
    snapshot.match("get-stage", response)

    def _delete_wildcard():
        # remove all attributes at path */* (this is an operation Terraform executes when deleting APIs)
        response = client.update_stage(
            restApiId=api_id,
            stageName="s1",
            patchOperations=[
                {"op": "remove", "path": "/*/*"},
            ],
        )
        snapshot.match("update-stage-reset", response)

    # attempt to delete wildcard method settings (should initially fail)
    with pytest.raises(ClientError) as exc:
        _delete_wildcard()
    snapshot.match("delete-error", exc.value.response)

    # run a patch operation that creates a method mapping for */*
    response = client.update_stage(
        restApiId=api_id,
        stageName="s1",
        patchOperations=[
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
        ],
    )
    snapshot.match("update-stage", response)

    # delete wildcard method settings (should now succeed)
    _delete_wildcard()

    # assert the content of the stage after the update
    response = client.get_stage(restApiId=api_id, stageName="s1")
    snapshot.match("get-stage-after-reset", response)


@recorded("test_apigateway_common", "TestDeployments::test_create_delete_deployments[True]",
          parameters={"create_stage_manually": True})
@recorded("test_apigateway_common", "TestDeployments::test_create_delete_deployments[False]",
          parameters={"create_stage_manually": False})
def test_create_delete_deployments(create_stage_manually, aws_client, create_rest_apigw, apigw_add_transformers, snapshot
):
    snapshot.add_transformer(snapshot.transform.apigateway_api())
    client = aws_client.apigateway

    # create API, method, integration, deployment
    api_id, _, root_id = create_rest_apigw()
    client.put_method(
        restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE"
    )
    client.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")

    # create deployment - stage can be passed as parameter, or created separately below
    kwargs = {} if create_stage_manually else {"stageName": "s1"}
    response = client.create_deployment(restApiId=api_id, **kwargs)
    deployment_id = response["id"]

    # create stage
    if create_stage_manually:
        client.create_stage(restApiId=api_id, stageName="s1", deploymentId=deployment_id)

    # get deployment and stages
    response = client.get_deployment(restApiId=api_id, deploymentId=deployment_id)
    snapshot.match("get-deployment", response)
    response = client.get_stages(restApiId=api_id)
    snapshot.match("get-stages", response)

    for i in range(3):
        # asset that deleting the deployment fails if stage exists
        with pytest.raises(ClientError) as ctx:
            client.delete_deployment(restApiId=api_id, deploymentId=deployment_id)
        snapshot.match(f"delete-deployment-error-{i}", ctx.value.response)

        # delete stage and deployment
        client.delete_stage(restApiId=api_id, stageName="s1")
        client.delete_deployment(restApiId=api_id, deploymentId=deployment_id)

        # re-create stage and deployment
        response = client.create_deployment(restApiId=api_id, **kwargs)
        deployment_id = response["id"]
        if create_stage_manually:
            client.create_stage(restApiId=api_id, stageName="s1", deploymentId=deployment_id)

        # list deployments and stages again
        response = client.get_deployments(restApiId=api_id)
        snapshot.match(f"get-deployments-{i}", response)
        response = client.get_stages(restApiId=api_id)
        snapshot.match(f"get-stages-{i}", response)


@recorded("test_apigateway_common", "TestDeployments::test_create_update_deployments")
def test_create_update_deployments(aws_client, create_rest_apigw, apigw_add_transformers, snapshot
):
    snapshot.add_transformer(snapshot.transform.apigateway_api())
    client = aws_client.apigateway

    # create API, method, integration, deployment
    api_id, _, root_id = create_rest_apigw()
    client.put_method(
        restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE"
    )
    client.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")

    # create deployment - stage can be passed as parameter, or created separately below
    response = client.create_deployment(restApiId=api_id)
    deployment_id_1 = response["id"]

    # create stage
    client.create_stage(restApiId=api_id, stageName="s1", deploymentId=deployment_id_1)

    # get deployment and stages
    response = client.get_deployment(restApiId=api_id, deploymentId=deployment_id_1)
    snapshot.match("get-deployment-1", response)
    response = client.get_stages(restApiId=api_id)
    snapshot.match("get-stages", response)

    # asset that deleting the deployment fails if stage exists
    with pytest.raises(ClientError) as ctx:
        client.delete_deployment(restApiId=api_id, deploymentId=deployment_id_1)
    snapshot.match("delete-deployment-error", ctx.value.response)

    # create another deployment with the previous stage, which should update the stage
    response = client.create_deployment(restApiId=api_id, stageName="s1")
    deployment_id_2 = response["id"]

    # get deployments and stages
    response = client.get_deployment(restApiId=api_id, deploymentId=deployment_id_1)
    snapshot.match("get-deployment-1-after-update", response)
    response = client.get_deployment(restApiId=api_id, deploymentId=deployment_id_2)
    snapshot.match("get-deployment-2", response)
    response = client.get_stages(restApiId=api_id)
    snapshot.match("get-stages-after-update", response)

    response = client.delete_deployment(restApiId=api_id, deploymentId=deployment_id_1)
    snapshot.match("delete-deployment-1", response)

    # asset that deleting the deployment fails if stage exists
    with pytest.raises(ClientError) as ctx:
        client.delete_deployment(restApiId=api_id, deploymentId=deployment_id_2)
    snapshot.match("delete-deployment-2-error", ctx.value.response)

@recorded("test_apigateway_api", "TestApiGatewayGatewayResponse::test_gateway_response_crud")
def test_gateway_response_crud(aws_client, apigw_create_rest_api, snapshot):
    snapshot.add_transformer(
        SortingTransformer(key="items", sorting_fn=itemgetter("responseType"))
    )
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test GatewayResponse",
    )
    api_id = response["id"]

    response = aws_client.apigateway.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    snapshot.match("get-gateway-response-default", response)

    # example from https://docs.aws.amazon.com/apigateway/latest/api/API_PutGatewayResponse.html
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseParameters={
            "gatewayresponse.header.x-request-path": "method.request.path.petId",
            "gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'",
            "gatewayresponse.header.x-request-query": "method.request.querystring.q",
            "gatewayresponse.header.x-request-header": "method.request.header.Accept",
        },
        responseTemplates={
            "application/json": '{\n     "message": $context.error.messageString,\n     "type":  "$context.error.responseType",\n     "stage":  "$context.stage",\n     "resourcePath":  "$context.resourcePath",\n     "stageVariables.a":  "$stageVariables.a",\n     "statusCode": "\'404\'"\n}'
        },
    )
    snapshot.match("put-gateway-response", response)

    response = aws_client.apigateway.get_gateway_responses(restApiId=api_id)
    snapshot.match("get-gateway-responses", response)

    response = aws_client.apigateway.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    snapshot.match("get-gateway-response", response)

    response = aws_client.apigateway.delete_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    snapshot.match("delete-gateway-response", response)

    response = aws_client.apigateway.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )

    snapshot.match("get-deleted-gw-response", response)


@recorded("test_apigateway_api", "TestApiGatewayGatewayResponse::test_gateway_response_validation")
def test_gateway_response_validation(aws_client_factory, apigw_create_rest_api, snapshot):
    apigw_client = aws_client_factory(config=Config(parameter_validation=False)).apigateway
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test GatewayResponse",
    )
    api_id = response["id"]
    fake_id = "fake-api-id"  # lambda-canary: LocalStack's random `apiid123...`, as its transformer records it
    snapshot.add_transformer(snapshot.transform.regex(fake_id, "fake-api-id"))

    with pytest.raises(ClientError) as e:
        apigw_client.get_gateway_responses(restApiId=fake_id)
    snapshot.match("get-gateway-responses-no-api", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.get_gateway_response(restApiId=fake_id, responseType="DEFAULT_4XX")
    snapshot.match("get-gateway-response-no-api", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_gateway_response(restApiId=fake_id, responseType="DEFAULT_4XX")
    snapshot.match("delete-gateway-response-no-api", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=fake_id, responseType="DEFAULT_4XX", patchOperations=[]
        )
    snapshot.match("update-gateway-response-no-api", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    snapshot.match("delete-gateway-response-not-set", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.get_gateway_response(restApiId=api_id, responseType="FAKE_RESPONSE_TYPE")
    snapshot.match("get-gateway-response-wrong-response-type", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE"
        )
    snapshot.match("delete-gateway-response-wrong-response-type", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE", patchOperations=[]
        )
    snapshot.match("update-gateway-response-wrong-response-type", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.put_gateway_response(
            restApiId=api_id,
            responseType="FAKE_RESPONSE_TYPE",
            statusCode="404",
            responseParameters={},
            responseTemplates={},
        )
    snapshot.match("put-gateway-response-wrong-response-type", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayGatewayResponse::test_update_gateway_response")
def test_update_gateway_response(aws_client, aws_client_factory, apigw_create_rest_api, snapshot
):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test GatewayResponse",
    )
    api_id = response["id"]
    apigw_client = aws_client_factory(config=Config(parameter_validation=False)).apigateway

    response = apigw_client.update_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        patchOperations=[{"op": "replace", "path": "/statusCode", "value": "444"}],
    )
    snapshot.match("update-gateway-response-not-set", response)

    response = apigw_client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    snapshot.match("default-get-gateway-response", response)

    response = apigw_client.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        statusCode="404",
        responseParameters={
            "gatewayresponse.header.x-request-path": "method.request.path.petId",
            "gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'",
            "gatewayresponse.header.x-request-query": "method.request.querystring.q",
            "gatewayresponse.header.x-request-header": "method.request.header.Accept",
        },
        responseTemplates={
            "application/json": json.dumps(
                {"application/json": '{"message":$context.error.messageString}'}
            )
        },
    )
    snapshot.match("put-gateway-response", response)

    response = apigw_client.update_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        patchOperations=[
            {"op": "replace", "path": "/statusCode", "value": "444"},
            {
                "op": "replace",
                "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
                "value": "'example.com'",
            },
            {
                "op": "add",
                "path": "/responseTemplates/application~1xml",
                "value": "<gatewayResponse><message>$context.error.messageString</message><type>$context.error.responseType</type></gatewayResponse>",
            },
        ],
    )
    snapshot.match("update-gateway-response", response)

    response = apigw_client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    snapshot.match("get-gateway-response", response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_4XX",
            patchOperations=[{"op": "add", "path": "/statusCode", "value": "444"}],
        )

    snapshot.match("update-gateway-add-status-code", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_4XX",
            patchOperations=[
                {
                    "op": "remove",
                    "path": "/statusCode",
                }
            ],
        )

    snapshot.match("update-gateway-remove-status-code", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_5XX",
            patchOperations=[
                {
                    "op": "replace",
                    "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
                    "value": "'example.com'",
                }
            ],
        )

    snapshot.match("update-gateway-replace-invalid-parameter", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_4XX",
            patchOperations=[{"op": "add", "value": "'example.com'"}],
        )

    snapshot.match("update-gateway-no-path", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_4XX",
            patchOperations=[
                {"op": "wrong-op", "path": "/statusCode", "value": "'example.com'"}
            ],
        )

    snapshot.match("update-gateway-wrong-op", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_gateway_response(
            restApiId=api_id,
            responseType="DEFAULT_4XX",
            patchOperations=[{"op": "add", "path": "/wrongPath", "value": "'example.com'"}],
        )

    snapshot.match("update-gateway-wrong-path", e.value.response)

    for index, path in enumerate(
        (
            "/responseTemplates/application~1xml",
            "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
        )
    ):
        with pytest.raises(ClientError) as e:
            apigw_client.update_gateway_response(
                restApiId=api_id,
                responseType="DEFAULT_4XX",
                patchOperations=[{"op": "replace", "path": path, "value": None}],
            )

        snapshot.match(
            f"update-gateway-replace-invalid-parameter-{index}-none", e.value.response
        )


@recorded("test_apigateway_api", "TestApiGatewayGatewayResponse::test_gateway_response_put")
def test_gateway_response_put(aws_client, apigw_create_rest_api, snapshot):
    snapshot.add_transformer(
        SortingTransformer(key="items", sorting_fn=itemgetter("responseType"))
    )
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test GatewayResponse",
    )
    api_id = response["id"]

    # Put all values
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseParameters={
            "gatewayresponse.header.x-request-path": "method.request.path.petId",
            "gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'",
            "gatewayresponse.header.x-request-query": "method.request.querystring.q",
            "gatewayresponse.header.x-request-header": "method.request.header.Accept",
        },
        responseTemplates={
            "application/json": '{\n     "message": $context.error.messageString,\n     "type":  "$context.error.responseType",\n     "stage":  "$context.stage",\n     "resourcePath":  "$context.resourcePath",\n     "stageVariables.a":  "$stageVariables.a",\n     "statusCode": "\'404\'"\n}'
        },
    )
    snapshot.match("put-gateway-response-all-value", response)

    # Put only status code
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
    )
    snapshot.match("put-gateway-response-status-only", response)

    # Put only response parameters
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        responseParameters={
            "gatewayresponse.header.x-request-header": "method.request.header.Accept"
        },
    )
    snapshot.match("put-gateway-response-response-parameters-only", response)

    # Put only response templates
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        responseTemplates={
            "application/json": '{\n     "message": $context.error.messageString,\n     "type":  "$context.error.responseType",\n     "stage":  "$context.stage",\n     "resourcePath":  "$context.resourcePath",\n     "stageVariables.a":  "$stageVariables.a",\n     "statusCode": "\'404\'"\n}'
        },
    )
    snapshot.match("put-gateway-response-response-templates-only", response)

    # Put default response
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_5XX",
        statusCode="599",
        responseParameters={
            "gatewayresponse.header.x-request-header": "method.request.header.Accept"
        },
        responseTemplates={
            "application/json": '{\n     "message": $context.error.messageString,\n     "type":  "$context.error.responseType",\n     "stage":  "$context.stage",\n     "resourcePath":  "$context.resourcePath",\n     "stageVariables.a":  "$stageVariables.a",\n     "statusCode": "\'404\'"\n}'
        },
    )
    snapshot.match("put-gateway-response-default-5xx", response)

    # Put 500 after default set
    response = aws_client.apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="AUTHORIZER_FAILURE",
        responseParameters={"gatewayresponse.header.foo": "'bar'"},
    )
    snapshot.match("put-gateway-response-default-ignored", response)

    # Get all, default should affect all 500
    response = aws_client.apigateway.get_gateway_responses(restApiId=api_id)
    snapshot.match("get-gateway-responses", response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_lifecycle_integration_response")
def test_lifecycle_integration_response(aws_client, apigw_create_rest_api, snapshot):
    snapshot.add_transformer(snapshot.transform.key_value("cacheNamespace"))
    apigw_client = aws_client.apigateway
    response = apigw_create_rest_api(name=f"test-api-{short_uid()}")
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    apigw_client.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw_client.put_integration(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    put_response = apigw_client.put_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '"created"'},
        selectionPattern="",
    )
    snapshot.match("put-integration-response", put_response)

    get_response = apigw_client.get_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
    )
    snapshot.match("get-integration-response", get_response)

    update_response = apigw_client.update_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
        patchOperations=[
            {
                "op": "replace",
                "path": "/selectionPattern",
                "value": "updated-pattern",
            }
        ],
    )
    snapshot.match("update-integration-response", update_response)

    overwrite_response = apigw_client.put_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": "overwrite"},
        selectionPattern="overwrite-pattern",
    )
    snapshot.match("overwrite-integration-response", overwrite_response)

    get_method = apigw_client.get_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
    )
    snapshot.match("get-method", get_method)

    delete_response = apigw_client.delete_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
    )
    snapshot.match("delete-integration-response", delete_response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_integration_response_wrong_api")
def test_integration_response_wrong_api(aws_client, apigw_create_rest_api, snapshot):
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration_response(
            restApiId="wrong-api", resourceId="dummy-value", httpMethod="GET", statusCode="200"
        )
    snapshot.match("put-integration-response-wrong-api", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_integration_response(
            restApiId="wrong-api", resourceId="dummy-value", httpMethod="GET", statusCode="200"
        )
    snapshot.match("get-integration-response-wrong-api", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_integration_response_wrong_resource")
def test_integration_response_wrong_resource(aws_client, apigw_create_rest_api, snapshot):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test Integration Resource",
    )
    api_id = response["id"]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration_response(
            restApiId=api_id, resourceId="wrong-resource", httpMethod="GET", statusCode="200"
        )
    snapshot.match("put-integration-response-wrong-resource", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_integration_response(
            restApiId=api_id, resourceId="wrong-resource", httpMethod="GET", statusCode="200"
        )
    snapshot.match("get-integration-response-wrong-resource", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_integration_response_wrong_method")
def test_integration_response_wrong_method(aws_client, apigw_create_rest_api, snapshot):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test Integration Method",
    )
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="wrong-method",
            statusCode="200",
        )
    snapshot.match("put-integration-response-wrong-method", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="wrong-method",
            statusCode="200",
        )
    snapshot.match("get-integration-response-wrong-method", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_integration_response_invalid_integration")
def test_integration_response_invalid_integration(aws_client, apigw_create_rest_api, snapshot
):
    snapshot.add_transformer(snapshot.transform.key_value("cacheNamespace"))
    apigw_client = aws_client.apigateway
    response = apigw_create_rest_api(name=f"test-api-{short_uid()}")
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    apigw_client.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="200",
        )
    snapshot.match("get-integration-response-without-integration", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_integration_response_wrong_status_code")
def test_integration_response_wrong_status_code(aws_client, apigw_create_rest_api, snapshot
):
    snapshot.add_transformer(snapshot.transform.key_value("cacheNamespace"))
    apigw_client = aws_client.apigateway
    response = apigw_create_rest_api(name=f"test-api-{short_uid()}")
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    apigw_client.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw_client.put_integration(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="201",
        )
    snapshot.match("get-integration-response-wrong-status-code", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegrationResponse::test_delete_integration_response_errors")
def test_delete_integration_response_errors(aws_client_factory, apigw_create_rest_api, snapshot
):
    snapshot.add_transformer(snapshot.transform.key_value("cacheNamespace"))
    apigw_client = aws_client_factory(config=Config(parameter_validation=False)).apigateway
    response = apigw_create_rest_api(name=f"test-api-{short_uid()}")
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    apigw_client.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw_client.put_integration(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    put_response = apigw_client.put_integration_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '"created"'},
        selectionPattern="",
    )
    snapshot.match("put-integration-response", put_response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_integration_response(
            restApiId=api_id,
            resourceId="bad-resource",
            httpMethod="GET",
            statusCode="200",
        )
    snapshot.match("non-existent-resource", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_integration_response(
            restApiId="bad-api-id",
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="200",
        )
    snapshot.match("non-existent-api-id", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="POST",
            statusCode="200",
        )
    snapshot.match("non-existent-method", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="201",
        )
    snapshot.match("non-existent-status-code", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.delete_integration_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="WRONG",
            statusCode="201",
        )
    snapshot.match("bad-method", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayStage::test_get_stages_filters_by_deployment_id")
def test_get_stages_filters_by_deployment_id(create_api_for_deployment_id, aws_client, snapshot
):
    create_api_for_deployment = create_api_for_deployment_id  # lambda-canary: the test module's own fixture
    """
    Regression test for https://github.com/localstack/localstack/issues/13667
    Verifies that get_stages filters results by deploymentId when provided.
    """
    snapshot.add_transformer(snapshot.transform.key_value("deploymentId"))

    # Create REST API with a MOCK method (required for deployment)
    api_id = create_api_for_deployment()

    # Create two deployments with different stages
    deploy1 = aws_client.apigateway.create_deployment(restApiId=api_id, stageName="stage1")
    if is_aws_cloud():
        time.sleep(1)
    deploy2 = aws_client.apigateway.create_deployment(restApiId=api_id, stageName="stage2")

    # get_stages without deploymentId returns all stages
    all_stages = aws_client.apigateway.get_stages(restApiId=api_id)
    snapshot.match("all-stages", all_stages)
    assert len(all_stages["item"]) == 2

    # get_stages with deploymentId should return only the matching stage
    stages_deploy1 = aws_client.apigateway.get_stages(
        restApiId=api_id, deploymentId=deploy1["id"]
    )
    snapshot.match("stages-deploy1", stages_deploy1)
    assert len(stages_deploy1["item"]) == 1
    assert stages_deploy1["item"][0]["stageName"] == "stage1"

    stages_deploy2 = aws_client.apigateway.get_stages(
        restApiId=api_id, deploymentId=deploy2["id"]
    )
    snapshot.match("stages-deploy2", stages_deploy2)
    assert len(stages_deploy2["item"]) == 1
    assert stages_deploy2["item"][0]["stageName"] == "stage2"


@recorded("test_apigateway_api", "TestApigatewayIntegration::test_put_integration_wrong_type")
def test_put_integration_wrong_type(aws_client, apigw_create_rest_api, aws_client_factory, snapshot
):
    apigw_client = aws_client_factory(config=Config(parameter_validation=False)).apigateway
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test PutIntegration Types",
    )
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    with pytest.raises(ClientError) as e:
        apigw_client.put_integration(
            restApiId=api_id, resourceId=root_resource_id, httpMethod="GET", type="HTTPS_PROXY"
        )
    snapshot.match("put-integration-wrong-type", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayIntegration::test_get_integration_non_existent")
def test_get_integration_non_existent(aws_client, apigw_create_rest_api, aws_client_factory, snapshot
):
    apigw_client = aws_client_factory(config=Config(parameter_validation=False)).apigateway
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="APIGW test PutIntegration Types",
    )
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration(
            restApiId=short_uid(), resourceId=root_resource_id, httpMethod="GET"
        )
    snapshot.match("get-integration-no-api", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration(restApiId=api_id, resourceId=short_uid(), httpMethod="GET")
    snapshot.match("get-integration-no-resource", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration(
            restApiId=api_id, resourceId=root_resource_id, httpMethod="GET"
        )
    snapshot.match("get-integration-no-method", e.value.response)

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )

    with pytest.raises(ClientError) as e:
        apigw_client.get_integration(
            restApiId=api_id, resourceId=root_resource_id, httpMethod="GET"
        )
    snapshot.match("get-integration-no-integration", e.value.response)

@recorded("test_apigateway_integrations", "test_put_integration_validation")
def test_put_integration_validation(
    aws_client, account_id, region_name, create_rest_apigw, snapshot, partition
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("cacheNamespace"),
        ]
    )

    api_id, _, root_id = create_rest_apigw(name="test-apigw")

    aws_client.apigateway.put_method(
        restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE"
    )
    aws_client.apigateway.put_method_response(
        restApiId=api_id, resourceId=root_id, httpMethod="GET", statusCode="200"
    )

    http_types = ["HTTP", "HTTP_PROXY"]
    aws_types = ["AWS", "AWS_PROXY"]
    types_requiring_integration_method = http_types + ["AWS"]
    types_not_requiring_integration_method = ["MOCK"]

    for _type in types_requiring_integration_method:
        # Ensure that integrations of these types fail if no integrationHttpMethod is provided
        with pytest.raises(ClientError) as ex:
            aws_client.apigateway.put_integration(
                restApiId=api_id,
                resourceId=root_id,
                httpMethod="GET",
                type=_type,
                uri="http://example.com",
            )
        snapshot.match(f"required-integration-method-{_type}", ex.value.response)

    for _type in types_not_requiring_integration_method:
        # Ensure that integrations of these types do not need the integrationHttpMethod
        response = aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type=_type,
            uri="http://example.com",
        )
        snapshot.match(f"not-required-integration-method-{_type}", response)

    for _type in http_types:
        # Ensure that it works fine when providing the integrationHttpMethod-argument
        response = aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type=_type,
            uri="http://example.com",
            integrationHttpMethod="POST",
        )
        snapshot.match(f"http-method-{_type}", response)

    for _type in ["AWS"]:
        # Ensure that it works fine when providing the integrationHttpMethod + credentials
        response = aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            credentials=f"arn:{partition}:iam::{account_id}:role/service-role/testfunction-role-oe783psq",
            httpMethod="GET",
            type=_type,
            uri=f"arn:{partition}:apigateway:{region_name}:s3:path/b/k",
            integrationHttpMethod="POST",
        )
        snapshot.match(f"aws-integration-{_type}", response)

    for _type in aws_types:
        # Ensure that credentials are not required when URI points to a Lambda stream
        response = aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type=_type,
            uri=f"arn:{partition}:apigateway:{region_name}:lambda:path/2015-03-31/functions/arn:{partition}:lambda:{region_name}:{account_id}:function:MyLambda/invocations",
            integrationHttpMethod="POST",
        )
        snapshot.match(f"aws-integration-type-{_type}", response)

    for _type in ["AWS_PROXY"]:
        # Ensure that aws_proxy does not support S3
        with pytest.raises(ClientError) as ex:
            aws_client.apigateway.put_integration(
                restApiId=api_id,
                resourceId=root_id,
                credentials=f"arn:{partition}:iam::{account_id}:role/service-role/testfunction-role-oe783psq",
                httpMethod="GET",
                type=_type,
                uri=f"arn:{partition}:apigateway:{region_name}:s3:path/b/k",
                integrationHttpMethod="POST",
            )
        snapshot.match(f"no-s3-support-{_type}", ex.value.response)

    for _type in http_types:
        # Ensure that the URI is valid HTTP
        with pytest.raises(ClientError) as ex:
            aws_client.apigateway.put_integration(
                restApiId=api_id,
                resourceId=root_id,
                httpMethod="GET",
                type=_type,
                uri="non-valid-http",
                integrationHttpMethod="POST",
            )
        snapshot.match(f"invalid-uri-{_type}", ex.value.response)

    # Ensure that the URI is an ARN
    with pytest.raises(ClientError) as ex:
        aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type="AWS",
            uri="non-valid-arn",
            integrationHttpMethod="POST",
        )
    snapshot.match("invalid-uri-not-an-arn", ex.value.response)

    # Ensure that the URI is a valid ARN
    with pytest.raises(ClientError) as ex:
        aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            type="AWS",
            uri=f"arn:{partition}:iam::0000000000:role/service-role/asdf",
            integrationHttpMethod="POST",
        )
    snapshot.match("invalid-uri-invalid-arn", ex.value.response)

@recorded("test_apigateway_lambda", "test_put_integration_aws_proxy_uri")
def test_put_integration_aws_proxy_uri(
    aws_client,
    create_rest_apigw,
    create_lambda_function,
    create_role_with_policy,
    snapshot,
    region_name,
):
    api_id, _, root_resource_id = create_rest_apigw(
        name=f"test-api-{short_uid()}",
        description="APIGW test PutIntegration AWS_PROXY URI",
    )
    function_name = f"function-{short_uid()}"

    # create lambda
    create_function_response = create_lambda_function(
        func_name=function_name,
        handler_file=TEST_LAMBDA_AWS_PROXY,
        handler="lambda_aws_proxy.handler",
        runtime=Runtime.python3_12,
    )
    # create invocation role
    _, role_arn = create_role_with_policy(
        "Allow", "lambda:InvokeFunction", json.dumps(APIGATEWAY_ASSUME_ROLE_POLICY), "*"
    )
    lambda_arn = create_function_response["CreateFunctionResponse"]["FunctionArn"]

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="ANY",
        authorizationType="NONE",
    )

    default_params = {
        "restApiId": api_id,
        "resourceId": root_resource_id,
        "httpMethod": "ANY",
        "type": "AWS_PROXY",
        "integrationHttpMethod": "POST",
        "credentials": role_arn,
    }

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration(
            **default_params,
            uri=lambda_arn,
        )
    snapshot.match("put-integration-lambda-uri", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration(
            **default_params,
            uri=f"bad-arn:lambda:path/2015-03-31/functions/{lambda_arn}/invocations",
        )
    snapshot.match("put-integration-wrong-arn", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration(
            **default_params,
            uri=f"arn:aws:apigateway:{region_name}:lambda:test/2015-03-31/functions/{lambda_arn}/invocations",
        )
    snapshot.match("put-integration-wrong-type", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration(
            **default_params,
            uri=f"arn:aws:apigateway:{region_name}:firehose:path/2015-03-31/functions/{lambda_arn}/invocations",
        )
    snapshot.match("put-integration-wrong-firehose", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.put_integration(
            **default_params,
            uri=f"arn:aws:apigateway:{region_name}:lambda:path/random/value/{lambda_arn}/invocations",
        )
    snapshot.match("put-integration-bad-lambda-arn", e.value.response)


@recorded("test_apigateway_lambda", "test_lambda_aws_proxy_integration",
          # LocalStack's own skip list for this test: headers CloudFront adds in front of API Gateway on AWS, and
          # Accept-Encoding, which depends on the client's installed compressors
          skip=[*CLOUDFRONT_SKIP_HEADERS, "$..headers.Accept-Encoding", "$..multiValueHeaders.Accept-Encoding"])
def test_lambda_aws_proxy_integration(
    create_rest_apigw, create_lambda_function, create_role_with_policy, snapshot, aws_client
):
    function_name = f"test-function-{short_uid()}"
    stage_name = "stage"
    snapshot.add_transformer(snapshot.transform.apigateway_api())
    snapshot.add_transformer(snapshot.transform.apigateway_proxy_event())
    # TODO: update global transformers, but we will need to regenerate all snapshots at once
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.jsonpath("$..headers.Host", value_replacement="host"),
            snapshot.transform.jsonpath("$..multiValueHeaders.Host[0]", value_replacement="host"),
            snapshot.transform.key_value(
                "X-Forwarded-For",
                value_replacement="<X-Forwarded-For>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Port",
                value_replacement="<X-Forwarded-Port>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Proto",
                value_replacement="<X-Forwarded-Proto>",
                reference_replacement=False,
            ),
        ],
        priority=-1,
    )

    # create lambda
    create_function_response = create_lambda_function(
        func_name=function_name,
        handler_file=TEST_LAMBDA_AWS_PROXY,
        handler="lambda_aws_proxy.handler",
        runtime=Runtime.python3_12,
    )
    # create invocation role
    _, role_arn = create_role_with_policy(
        "Allow", "lambda:InvokeFunction", json.dumps(APIGATEWAY_ASSUME_ROLE_POLICY), "*"
    )
    lambda_arn = create_function_response["CreateFunctionResponse"]["FunctionArn"]
    # create rest api
    api_id, _, root = create_rest_apigw(
        name=f"test-api-{short_uid()}",
        description="Integration test API",
    )
    # use a regex transform as create_rest_apigw fixture does not return the original response
    snapshot.add_transformer(snapshot.transform.regex(api_id, replacement="<api-id>"), priority=-1)
    resource_id_proxy = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="{proxy+}"
    )["id"]
    resource_id_hardcoded = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="hardcoded"
    )["id"]
    for resource_id in (resource_id_proxy, resource_id_hardcoded):
        aws_client.apigateway.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            authorizationType="NONE",
        )

        # Lambda AWS_PROXY integration
        aws_client.apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{aws_client.apigateway.meta.region_name}:lambda:path/2015-03-31/functions/{lambda_arn}/invocations",
            credentials=role_arn,
        )

    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)

    def get_invoke_url(path: str) -> str:
        return api_invoke_url(
            api_id=api_id,
            stage=stage_name,
            path=path,
        )

    def invoke_api(url):
        # use test header with different casing to check if it is preserved in the proxy payload
        # authorization is a weird case, it will get Pascal cased by default
        _response = requests.get(
            url,
            headers={
                "User-Agent": "python-requests/testing",
                "tEsT-HEADeR": "aValUE",
                "authorization": "random-value",
            },
            verify=False,
        )
        if not _response.ok:
            print(f"{_response.content=}")
        assert _response.status_code == 200
        return _response

    invocation_url = get_invoke_url(path="/proxy-value")
    # retry is necessary against AWS, probably IAM permission delay
    response = retry(invoke_api, sleep=2, retries=10, url=invocation_url)
    snapshot.match("invocation-payload-without-trailing-slash", response.json())

    # invoke rest api with trailing slash
    invocation_url = get_invoke_url(path="/proxy-value/")
    response_trailing_slash = invoke_api(url=invocation_url)
    snapshot.match("invocation-payload-with-trailing-slash", response_trailing_slash.json())

    # invoke rest api with double slash in proxy param
    invocation_url = get_invoke_url(path="/proxy-value//double-slash")
    response_double_slash = invoke_api(url=invocation_url)
    snapshot.match("invocation-payload-with-double-slash", response_double_slash.json())

    # invoke rest api with prepended slash to the stage (//<stage>/<path>)
    invocation_url = get_invoke_url(path="/proxy-value")
    double_slash_before_stage = invocation_url.replace(f"/{stage_name}/", f"//{stage_name}/")
    response_prepend_slash = invoke_api(url=double_slash_before_stage)
    snapshot.match(
        "invocation-payload-with-prepended-slash-to-stage", response_prepend_slash.json()
    )

    # invoke rest api with prepended slash
    slash_between_stage_and_path = get_invoke_url(path="//proxy-value")
    response_prepend_slash = invoke_api(url=slash_between_stage_and_path)
    snapshot.match("invocation-payload-with-prepended-slash", response_prepend_slash.json())

    response_no_trailing_slash = invoke_api(url=f"{invocation_url}?urlparam=test")
    snapshot.match(
        "invocation-payload-without-trailing-slash-and-query-params",
        response_no_trailing_slash.json(),
    )

    response_trailing_slash_param = invoke_api(url=f"{invocation_url}/?urlparam=test")
    snapshot.match(
        "invocation-payload-with-trailing-slash-and-query-params",
        response_trailing_slash_param.json(),
    )

    # invoke rest api with encoded information in URL path
    path_encoded_emails = "user/test%2Balias@gmail.com/plus/test+alias@gmail.com"
    response_path_encoding = invoke_api(url=f"{invocation_url}/api/{path_encoded_emails}")
    snapshot.match(
        "invocation-payload-with-path-encoded-email",
        response_path_encoding.json(),
    )

    # invoke rest api with encoded information in URL params
    url_params = "&".join(
        [
            "dateTimeOffset=2023-06-12T18:05:10.123456+00:00",
            "email=test%2Balias@gmail.com",
            "plus=test+alias@gmail.com",
            "url=https://www.google.com/",
            "whitespace=foo bar",
            "zhash=abort/#",
            "ignored=this-does-not-appear-after-the-hash",
        ]
    )
    response_params_encoding = invoke_api(url=f"{invocation_url}/api?{url_params}")
    snapshot.match(
        "invocation-payload-with-params-encoding",
        response_params_encoding.json(),
    )

    def invoke_api_with_multi_value_header(url):
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "aUThorization": "Bearer token123;API key456",  # test the casing of the Authorization header
            "User-Agent": "python-requests/testing",
        }

        params = {"category": ["electronics", "books"], "price": ["10", "20", "30"]}
        response = requests.post(
            url,
            data=json.dumps({"message": "hello world"}),
            headers=headers,
            params=params,
            verify=False,
        )
        assert response.ok
        return response

    responses = retry(invoke_api_with_multi_value_header, sleep=2, retries=10, url=invocation_url)
    snapshot.match("invocation-payload-with-params-encoding-multi", responses.json())

    # invoke the hardcoded path with prepended slashes
    invocation_url_hardcoded = api_invoke_url(
        api_id=api_id,
        stage=stage_name,
        path="//hardcoded",
    )
    response_hardcoded = retry(invoke_api, sleep=2, retries=10, url=invocation_url_hardcoded)
    snapshot.match("invocation-hardcoded", response_hardcoded.json())


@recorded("test_apigateway_lambda", "test_aws_proxy_response_payload_format_validation",
          skip=CLOUDFRONT_SKIP_HEADERS)  # headers CloudFront adds in front of API Gateway on AWS
def test_aws_proxy_response_payload_format_validation(
    create_rest_apigw,
    create_lambda_function,
    create_role_with_policy,
    aws_client,
    region_name,
    snapshot,
):
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("Via"),
            snapshot.transform.key_value("X-Cache"),
            snapshot.transform.key_value("x-amz-apigw-id"),
            snapshot.transform.key_value("X-Amz-Cf-Pop"),
            snapshot.transform.key_value("X-Amz-Cf-Id"),
            snapshot.transform.key_value("X-Amzn-Trace-Id"),
            snapshot.transform.key_value(
                "Date", reference_replacement=False, value_replacement="<date>"
            ),
        ]
    )
    snapshot.add_transformers_list(
        [
            snapshot.transform.jsonpath("$..headers.Host", value_replacement="host"),
            snapshot.transform.jsonpath("$..multiValueHeaders.Host[0]", value_replacement="host"),
            snapshot.transform.key_value(
                "X-Forwarded-For",
                value_replacement="<X-Forwarded-For>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Port",
                value_replacement="<X-Forwarded-Port>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Proto",
                value_replacement="<X-Forwarded-Proto>",
                reference_replacement=False,
            ),
        ],
        priority=-1,
    )

    stage_name = "test"
    _, role_arn = create_role_with_policy(
        "Allow", "lambda:InvokeFunction", json.dumps(APIGATEWAY_ASSUME_ROLE_POLICY), "*"
    )

    function_name = f"response-format-apigw-{short_uid()}"
    create_function_response = create_lambda_function(
        handler_file=LAMBDA_RESPONSE_FROM_BODY,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )
    # create invocation role
    lambda_arn = create_function_response["CreateFunctionResponse"]["FunctionArn"]

    # create rest api
    api_id, _, root = create_rest_apigw(
        name=f"test-api-{short_uid()}",
        description="Integration test API",
    )

    resource_id = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="{proxy+}"
    )["id"]

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        authorizationType="NONE",
    )

    # Lambda AWS_PROXY integration
    aws_client.apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region_name}:lambda:path/2015-03-31/functions/{lambda_arn}/invocations",
        credentials=role_arn,
    )

    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)
    endpoint = api_invoke_url(api_id=api_id, path="/test", stage=stage_name)

    def _invoke(
        body: dict | str, expected_status_code: int = 200, return_headers: bool = False
    ) -> dict:
        kwargs = {}
        if body:
            kwargs["json"] = body

        _response = requests.post(
            url=endpoint,
            headers={"User-Agent": "python/test"},
            verify=False,
            **kwargs,
        )

        assert _response.status_code == expected_status_code

        try:
            content = _response.json()
        except json.JSONDecodeError:
            content = _response.content.decode()

        dict_resp = {"content": content}
        if return_headers:
            dict_resp["headers"] = dict(_response.headers)

        return dict_resp

    response = retry(_invoke, sleep=1, retries=10, body={"statusCode": 200})
    snapshot.match("invoke-api-no-body", response)

    response = _invoke(
        body={"statusCode": 200, "headers": {"test-header": "value", "header-bool": True}},
        return_headers=True,
    )
    snapshot.match("invoke-api-with-headers", response)

    response = _invoke(
        body={"statusCode": 200, "headers": None},
        return_headers=True,
    )
    snapshot.match("invoke-api-with-headers-null", response)

    response = _invoke(body={"statusCode": 200, "wrongValue": "value"}, expected_status_code=502)
    snapshot.match("invoke-api-wrong-format", response)

    response = _invoke(body={}, expected_status_code=502)
    snapshot.match("invoke-api-empty-response", response)

    response = _invoke(
        body={
            "statusCode": 200,
            "body": base64.b64encode(b"test-data").decode(),
            "isBase64Encoded": True,
        }
    )
    snapshot.match("invoke-api-b64-encoded-true", response)

    response = _invoke(body={"statusCode": 200, "body": base64.b64encode(b"test-data").decode()})
    snapshot.match("invoke-api-b64-encoded-false", response)

    response = _invoke(
        body={"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}},
        return_headers=True,
    )
    snapshot.match("invoke-api-multi-headers-valid", response)

    response = _invoke(
        body={
            "statusCode": 200,
            "multiValueHeaders": {"test-multi": ["value-multi"]},
            "headers": {"test-multi": "value-solo"},
        },
        return_headers=True,
    )
    snapshot.match("invoke-api-multi-headers-overwrite", response)

    response = _invoke(
        body={
            "statusCode": 200,
            "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
            "headers": {"test-multi": "value-solo"},
        },
        return_headers=True,
    )
    snapshot.match("invoke-api-multi-headers-overwrite-casing", response)

    response = _invoke(
        body={"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}},
        expected_status_code=502,
    )
    snapshot.match("invoke-api-multi-headers-invalid", response)

    response = _invoke(body={"statusCode": "test"}, expected_status_code=502)
    snapshot.match("invoke-api-invalid-status-code", response)

    response = _invoke(body={"statusCode": "201"}, expected_status_code=201)
    snapshot.match("invoke-api-status-code-str", response)

    response = _invoke(body="justAString", expected_status_code=502)
    snapshot.match("invoke-api-just-string", response)

    response = _invoke(body={"headers": {"test-header": "value"}}, expected_status_code=200)
    snapshot.match("invoke-api-only-headers", response)



@recorded("test_apigateway_lambda", "test_lambda_aws_proxy_integration_request_data_mapping",
          # LocalStack's own skip list for this test (CloudFront's headers; the client's Accept-Encoding)
          skip=[*CLOUDFRONT_SKIP_HEADERS, "$..content.headers.Accept-Encoding",
                "$..content.multiValueHeaders.Accept-Encoding"])
def test_lambda_aws_proxy_integration_request_data_mapping(
    create_rest_apigw,
    create_lambda_function,
    create_role_with_policy,
    snapshot,
    aws_client,
    create_rest_api_with_integration,
):
    function_name = f"test-function-{short_uid()}"
    stage_name = "test"
    snapshot.add_transformer(snapshot.transform.apigateway_api())
    snapshot.add_transformer(snapshot.transform.apigateway_proxy_event())
    # TODO: update global transformers, but we will need to regenerate all snapshots at once
    snapshot.add_transformer(snapshot.transform.key_value("rest_api_id"))
    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("deploymentId"),
            snapshot.transform.jsonpath("$..headers.Host", value_replacement="host"),
            snapshot.transform.jsonpath("$..multiValueHeaders.Host[0]", value_replacement="host"),
            snapshot.transform.key_value(
                "X-Forwarded-For",
                value_replacement="<X-Forwarded-For>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Port",
                value_replacement="<X-Forwarded-Port>",
                reference_replacement=False,
            ),
            snapshot.transform.key_value(
                "X-Forwarded-Proto",
                value_replacement="<X-Forwarded-Proto>",
                reference_replacement=False,
            ),
        ],
        priority=-1,
    )

    # create lambda
    create_function_response = create_lambda_function(
        func_name=function_name,
        handler_file=TEST_LAMBDA_AWS_PROXY,
        handler="lambda_aws_proxy.handler",
        runtime=Runtime.python3_12,
    )
    # create invocation role
    _, role_arn = create_role_with_policy(
        "Allow", "lambda:InvokeFunction", json.dumps(APIGATEWAY_ASSUME_ROLE_POLICY), "*"
    )
    lambda_arn = create_function_response["CreateFunctionResponse"]["FunctionArn"]

    api_id, _, root = create_rest_apigw(
        name=f"test-api-{short_uid()}",
        description="Integration test API",
    )

    snapshot.match("api_id", {"rest_api_id": api_id})

    resource_id = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="{pathVariable}"
    )["id"]

    # This test is there to verify that AWS_PROXY does not use the requestParameters
    req_parameters = {
        "integration.request.header.headerVar": "method.request.header.foobar",
        "integration.request.path.qsVar": "method.request.querystring.testVar",
        "integration.request.path.pathVar": "method.request.path.pathVariable",
        "integration.request.querystring.queryString": "method.request.querystring.testQueryString",
        "integration.request.querystring.testQs": "method.request.querystring.testQueryString",
        "integration.request.querystring.testEmptyQs": "method.request.header.emptyheader",
    }

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        authorizationType="NONE",
        requestParameters=dict.fromkeys(req_parameters.values(), True),
    )

    # Lambda AWS_PROXY integration
    aws_client.apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{aws_client.apigateway.meta.region_name}:lambda:path/2015-03-31/functions/{lambda_arn}/invocations",
        credentials=role_arn,
        requestParameters=req_parameters,
    )
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)

    stage_name = "test"

    invocation_url = api_invoke_url(
        api_id=api_id,
        stage=stage_name,
        path="/foobar",
    )

    def invoke_api(url):
        response = requests.post(
            url,
            data=json.dumps({"message": "hello world"}),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "foobar": "mapped-value",
                "user-Agent": "test/integration",
                "headerVar": "request-value",
            },
            params={
                "testQueryString": "foo",
                "testVar": "bar",
            },
            verify=False,
        )
        assert response.status_code == 200
        return {
            "content": response.json(),
            "status_code": response.status_code,
        }

    # retry is necessary against AWS, probably IAM permission delay
    invoke_response = retry(invoke_api, sleep=2, retries=10, url=invocation_url)
    snapshot.match("http-proxy-invocation-data-mapping", invoke_response)



@fixture
def create_rest_api_with_integration() -> None:
    return None


# test_aws_proxy_binary_response has no snapshot: AWS's answers are the test's assertions (AWS-validated
# 2025-01-29), kept as data in recordings/assertions_test_apigateway_lambda.json. Each check below records whether
# the body came back as the binary image or as its base64 text.
@recorded("assertions_test_apigateway_lambda", "test_aws_proxy_binary_response")
def test_aws_proxy_binary_response(
    create_rest_apigw,
    create_lambda_function,
    create_role_with_policy,
    aws_client,
    region_name,
    snapshot,
):
    _, role_arn = create_role_with_policy(
        "Allow", "lambda:InvokeFunction", json.dumps(APIGATEWAY_ASSUME_ROLE_POLICY), "*"
    )

    function_name = f"response-format-apigw-{short_uid()}"
    create_function_response = create_lambda_function(
        handler_file=LAMBDA_RESPONSE_FROM_BODY,
        func_name=function_name,
        runtime=Runtime.python3_12,
    )
    # create invocation role
    lambda_arn = create_function_response["CreateFunctionResponse"]["FunctionArn"]

    # create rest api
    api_id, _, root = create_rest_apigw(
        name=f"test-api-{short_uid()}",
        description="Integration test API",
    )

    resource_id = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="{proxy+}"
    )["id"]

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        authorizationType="NONE",
    )

    # Lambda AWS_PROXY integration
    aws_client.apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region_name}:lambda:path/2015-03-31/functions/{lambda_arn}/invocations",
        credentials=role_arn,
    )

    # this deployment does not have any `binaryMediaTypes` configured, so it should not return any binary data
    stage_1 = "test"
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_1)
    endpoint = api_invoke_url(api_id=api_id, path="/test", stage=stage_1)
    # Base64-encoded PNG image (example: 1x1 pixel transparent PNG)
    image_base64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/wIAAgkBAyMAlYwAAAAASUVORK5CYII="
    binary_data = base64.b64decode(image_base64)

    decoded_response = {
        "statusCode": 200,
        "body": image_base64,
        "isBase64Encoded": True,
        "headers": {
            "Content-Type": "image/png",
            "Cache-Control": "no-cache",
        },
    }

    def _invoke(accept: str | None) -> str:
        # lambda-canary: the original asserts binary (True) or base64 text (False); this records which came back
        headers = {"User-Agent": "python/test"}
        if accept:
            headers["Accept"] = accept

        _response = requests.post(
            url=endpoint,
            data=json.dumps(decoded_response),
            headers=headers,
        )
        if _response.status_code != 200:
            return f"status {_response.status_code}"
        if _response.content == binary_data:
            return "binary"
        return "base64 text" if _response.text == image_base64 else f"other: {_response.content[:60]!r}"

    # we did not configure binaryMedias so the API is not returning binary data even if all conditions are met
    snapshot.match("no-binary-media-types-accept-image/png", _invoke("image/png"))

    patch_operations = [
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        # seems like wildcard with star on the left is not supported
        {"op": "add", "path": "/binaryMediaTypes/*~1test"},
    ]
    aws_client.apigateway.update_rest_api(restApiId=api_id, patchOperations=patch_operations)
    # this deployment has `binaryMediaTypes` configured, so it should now return binary data if the client sends the
    # right `Accept` header and the lambda returns the Content-Type
    stage_2 = "test2"
    endpoint = api_invoke_url(api_id=api_id, path="/test", stage=stage_2)
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_2)

    # all conditions are met
    snapshot.match("accept-image/png", _invoke("image/png"))
    # client is sending the wrong accept, so the API returns the base64 data
    snapshot.match("accept-image/jpg", _invoke("image/jpg"))
    # client is sending the wrong accept (wildcard), so the API returns the base64 data
    snapshot.match("accept-image/*", _invoke("image/*"))
    # wildcard on the left is not supported
    snapshot.match("accept-*/test", _invoke("*/test"))
    # client is sending an accept that matches the wildcard, but it does not work
    snapshot.match("accept-random/test", _invoke("random/test"))
    # Accept has to exactly match what is configured
    snapshot.match("accept-*/*", _invoke("*/*"))


@fixture
def apigw_redeploy_api(aws_client: Any) -> Any:
    """tests/aws/services/apigateway/conftest.py::apigw_redeploy_api (lambda-canary: no wait for the stage's update;
    the emulator's deployment is in place when CreateDeployment answers)"""

    def _factory(rest_api_id: str, stage_name: str):
        aws_client.apigateway.create_deployment(restApiId=rest_api_id, stageName=stage_name)

    return _factory


# ---- models and request validators (lambda-canary: added with them; LocalStack's code as written) -------


@recorded("test_apigateway_api", "TestApiGatewayApiModels::test_model_lifecycle")
def test_model_lifecycle(apigw_create_rest_api, snapshot, aws_client):
    # taken from https://docs.aws.amazon.com/apigateway/latest/api/API_CreateModel.html#API_CreateModel_Examples
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}", description="testing resource model lifecycle"
    )
    api_id = response["id"]

    create_model_response = aws_client.apigateway.create_model(
        name="CalcOutput",
        restApiId=api_id,
        contentType="application/json",
        description="Calc output model",
        schema='{\n\t"title": "Calc output",\n\t"type": "object",\n\t"properties": {\n\t\t"a": {\n\t\t\t"type": "number"\n\t\t},\n\t\t"b": {\n\t\t\t"type": "number"\n\t\t},\n\t\t"op": {\n\t\t\t"description": "operation of +, -, * or /",\n\t\t\t"type": "string"\n\t\t},\n\t\t"c": {\n\t\t    "type": "number"\n\t\t}\n\t},\n\t"required": ["a", "b", "op"]\n}\n',
    )
    snapshot.match("create-model", create_model_response)

    get_models_response = aws_client.apigateway.get_models(restApiId=api_id)
    get_models_response["items"].sort(key=lambda x: x["name"])
    snapshot.match("get-models", get_models_response)

    # manually assert the presence of 2 default models, Error and Empty, as snapshots will replace names
    model_names = [model["name"] for model in get_models_response["items"]]
    assert "Error" in model_names
    assert "Empty" in model_names

    get_model_response = aws_client.apigateway.get_model(
        restApiId=api_id, modelName="CalcOutput"
    )
    snapshot.match("get-model", get_model_response)

    del_model_response = aws_client.apigateway.delete_model(
        restApiId=api_id, modelName="CalcOutput"
    )
    snapshot.match("del-model", del_model_response)


@recorded("test_apigateway_api", "TestApiGatewayApiModels::test_model_validation")
def test_model_validation(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}", description="testing resource model lifecycle"
    )
    api_id = response["id"]

    fake_api_id = "abcde0"

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="MySchema",
            restApiId=fake_api_id,
            contentType="application/json",
            description="Test model",
            schema=json.dumps({"title": "MySchema", "type": "object"}),
        )

    snapshot.match("create-model-wrong-id", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_models(restApiId=fake_api_id)
    snapshot.match("get-models-wrong-id", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_model(restApiId=fake_api_id, modelName="MySchema")
    snapshot.match("get-model-wrong-id", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_model(restApiId=fake_api_id, modelName="MySchema")
    snapshot.match("del-model-wrong-id", e.value.response)

    # assert that creating a model with an empty description works
    response = aws_client.apigateway.create_model(
        name="MySchema",
        restApiId=api_id,
        contentType="application/json",
        description="",
        schema=json.dumps({"title": "MySchema", "type": "object"}),
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="MySchema",
            restApiId=api_id,
            contentType="application/json",
            description="",
            schema=json.dumps({"title": "MySchema", "type": "object"}),
        )
    snapshot.match("create-model-already-exists", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="",
            restApiId=api_id,
            contentType="application/json",
            description="",
            schema=json.dumps({"title": "MySchema", "type": "object"}),
        )
    snapshot.match("create-model-empty-name", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="MyEmptySchema",
            restApiId=api_id,
            contentType="application/json",
            description="",
            schema="",
        )

    snapshot.match("create-model-empty-schema", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="MyEmptySchema",
            restApiId=api_id,
            contentType="application/json",
            description="",
        )

    snapshot.match("create-model-no-schema-json", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_model(
            name="MyEmptySchemaXml",
            restApiId=api_id,
            contentType="application/xml",
            description="",
        )

    snapshot.match("create-model-no-schema-xml", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiModels::test_update_model")
def test_update_model(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}", description="testing update resource model"
    )
    api_id = response["id"]

    fake_api_id = "abcde0"
    updated_schema = json.dumps({"title": "Updated schema", "type": "object"})
    patch_operations = [
        {"op": "replace", "path": "/schema", "value": updated_schema},
        {"op": "replace", "path": "/description", "value": ""},
    ]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_model(
            restApiId=fake_api_id,
            modelName="mySchema",
            patchOperations=patch_operations,
        )

    snapshot.match("update-model-wrong-id", e.value.response)

    response = aws_client.apigateway.create_model(
        name="MySchema",
        restApiId=api_id,
        contentType="application/json",
        description="",
        schema=json.dumps({"title": "MySchema", "type": "object"}),
    )
    snapshot.match("create-model", response)

    response = aws_client.apigateway.update_model(
        restApiId=api_id,
        modelName="MySchema",
        patchOperations=patch_operations,
    )
    snapshot.match("update-model", response)

    with pytest.raises(ClientError) as e:
        patch_operations = [{"op": "add", "path": "/wrong-path", "value": "not supported op"}]
        aws_client.apigateway.update_model(
            restApiId=api_id,
            modelName="MySchema",
            patchOperations=patch_operations,
        )

    snapshot.match("update-model-invalid-op", e.value.response)

    with pytest.raises(ClientError) as e:
        patch_operations = [
            {"op": "replace", "path": "/name", "value": "invalid"},
        ]
        aws_client.apigateway.update_model(
            restApiId=api_id,
            modelName="MySchema",
            patchOperations=patch_operations,
        )

    snapshot.match("update-model-invalid-path", e.value.response)

    with pytest.raises(ClientError) as e:
        patch_operations = [
            {"op": "replace", "path": "/schema", "value": ""},
        ]
        aws_client.apigateway.update_model(
            restApiId=api_id,
            modelName="MySchema",
            patchOperations=patch_operations,
        )
    snapshot.match("update-model-empty-schema", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiMethod::test_put_method_model")
def test_put_method_model(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}", description="testing resource method model"
    )
    api_id = response["id"]
    root_id = response["rootResourceId"]

    create_model = aws_client.apigateway.create_model(
        name="MySchema",
        restApiId=api_id,
        contentType="application/json",
        description="",
        schema=json.dumps({"title": "MySchema", "type": "object"}),
    )
    snapshot.match("create-model", create_model)

    create_model_2 = aws_client.apigateway.create_model(
        name="MySchemaTwo",
        restApiId=api_id,
        contentType="application/json",
        description="",
        schema=json.dumps({"title": "MySchemaTwo", "type": "object"}),
    )
    snapshot.match("create-model-2", create_model_2)

    put_method_response = aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="ANY",
        authorizationType="NONE",
        requestModels={"application/json": "MySchema"},
    )
    snapshot.match("put-method-request-models", put_method_response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchema")
    snapshot.match("delete-model-used", e.value.response)

    patch_operations = [
        {"op": "replace", "path": "/requestModels/application~1json", "value": "MySchemaTwo"},
    ]

    update_method_model = aws_client.apigateway.update_method(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="ANY",
        patchOperations=patch_operations,
    )
    snapshot.match("update-method-model", update_method_model)

    delete_model = aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchema")
    snapshot.match("delete-model-unused", delete_model)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchemaTwo")
    snapshot.match("delete-model-used-2", e.value.response)

    # create a subresource using MySchemaTwo
    resource = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root_id, pathPart="test"
    )
    put_method_response = aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="ANY",
        authorizationType="NONE",
        requestModels={"application/json": "MySchemaTwo"},
    )
    snapshot.match("put-method-2-request-models", put_method_response)

    # assert that the error raised gives the path of the subresource
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchemaTwo")
    snapshot.match("delete-model-used-by-2-method", e.value.response)

    patch_operations = [
        {"op": "remove", "path": "/requestModels/application~1json", "value": "MySchemaTwo"},
    ]

    # remove the Model from the subresource
    update_method_model = aws_client.apigateway.update_method(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="ANY",
        patchOperations=patch_operations,
    )
    snapshot.match("update-method-model-2", update_method_model)

    if is_aws_cloud():
        # just to be sure the change is properly set in AWS
        time.sleep(3)

    # assert that the error raised gives the path of the resource now
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchemaTwo")
    snapshot.match("delete-model-used-by-method-1", e.value.response)

    # delete the Method using MySchemaTwo
    delete_method = aws_client.apigateway.delete_method(
        restApiId=api_id, resourceId=root_id, httpMethod="ANY"
    )
    snapshot.match("delete-method-using-model-2", delete_method)

    # assert we can now delete MySchemaTwo
    delete_model = aws_client.apigateway.delete_model(restApiId=api_id, modelName="MySchemaTwo")
    snapshot.match("delete-model-unused-2", delete_model)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_validators_crud_no_api")
def test_validators_crud_no_api(snapshot, aws_client):
    # maybe move this test to a full lifecycle one
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_request_validator(
            restApiId="test-fake-rest-id",
            name="test-validator",
            validateRequestBody=True,
            validateRequestParameters=False,
        )
    snapshot.match("wrong-rest-api-id-create-validator", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_request_validators(restApiId="test-fake-rest-id")
    snapshot.match("wrong-rest-api-id-get-validators", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_request_validator_lifecycle")
def test_request_validator_lifecycle(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="my api",
    )
    snapshot.match("create-rest-api", response)
    api_id = response["id"]

    # create a request validator for an API
    response = aws_client.apigateway.create_request_validator(
        restApiId=api_id, name=f"test-validator-{short_uid()}"
    )
    snapshot.match("create-request-validator", response)
    validator_id = response["id"]

    # get detail of a specific request validator corresponding to an API
    response = aws_client.apigateway.get_request_validator(
        restApiId=api_id, requestValidatorId=validator_id
    )
    snapshot.match("get-request-validator", response)

    # get list of all request validators in the API
    response = aws_client.apigateway.get_request_validators(restApiId=api_id)
    snapshot.match("get-request-validators", response)

    # update request validators with different set of patch operations
    patch_operations = [
        {"op": "replace", "path": "/validateRequestBody", "value": "true"},
    ]
    response = aws_client.apigateway.update_request_validator(
        restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
    )
    snapshot.match("update-request-validator-with-value", response)

    patch_operations = [
        {"op": "replace", "path": "/validateRequestBody"},
    ]
    response = aws_client.apigateway.update_request_validator(
        restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
    )
    snapshot.match("update-request-validator-without-value", response)

    response = aws_client.apigateway.get_request_validator(
        restApiId=api_id, requestValidatorId=validator_id
    )
    snapshot.match("get-request-validators-after-update-operation", response)

    # delete request validator
    response = aws_client.apigateway.delete_request_validator(
        restApiId=api_id, requestValidatorId=validator_id
    )
    snapshot.match("delete-request-validator", response)

    # try fetching details of the deleted request validator
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_request_validator(
            restApiId=api_id, requestValidatorId=validator_id
        )
    snapshot.match("get-deleted-request-validator", e.value.response)

    # check list of all request validators in the API
    response = aws_client.apigateway.get_request_validators(restApiId=api_id)
    snapshot.match("get-request-validators-after-delete", response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_invalid_get_request_validator")
def test_invalid_get_request_validator(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="my api",
    )
    api_id = response["id"]

    response = aws_client.apigateway.create_request_validator(
        restApiId=api_id, name=f"test-validator-{short_uid()}"
    )
    validator_id = response["id"]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_request_validator(
            restApiId="api_id", requestValidatorId=validator_id
        )
    snapshot.match("get-request-validators-invalid-api-id", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_request_validator(
            restApiId=api_id, requestValidatorId="validator_id"
        )
    snapshot.match("get-request-validators-invalid-validator-id", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_invalid_get_request_validators")
def test_invalid_get_request_validators(apigw_create_rest_api, snapshot, aws_client):
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.get_request_validators(restApiId="api_id")
    snapshot.match("get-invalid-request-validators", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_invalid_delete_request_validator")
def test_invalid_delete_request_validator(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="my api",
    )
    api_id = response["id"]

    response = aws_client.apigateway.create_request_validator(
        restApiId=api_id, name=f"test-validator-{short_uid()}"
    )
    validator_id = response["id"]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_request_validator(
            restApiId="api_id", requestValidatorId=validator_id
        )
    snapshot.match("delete-request-validator-invalid-api-id", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.delete_request_validator(
            restApiId=api_id, requestValidatorId="validator_id"
        )
    snapshot.match("delete-request-validator-invalid-validator-id", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_create_request_validator_invalid_api_id")
def test_create_request_validator_invalid_api_id(apigw_create_rest_api, snapshot, aws_client
):
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.create_request_validator(
            restApiId="api_id", name=f"test-validator-{short_uid()}"
        )
    snapshot.match("invalid-create-request-validator", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiRequestValidator::test_invalid_update_request_validator_operations")
def test_invalid_update_request_validator_operations(apigw_create_rest_api, snapshot, aws_client
):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}",
        description="my api",
    )
    snapshot.match("create-rest-api", response)
    api_id = response["id"]

    response = aws_client.apigateway.create_request_validator(
        restApiId=api_id, name=f"test-validator-{short_uid()}"
    )
    snapshot.match("create-request-validator", response)
    validator_id = response["id"]

    patch_operations = [
        {"op": "add", "path": "/validateRequestBody", "value": "true"},
    ]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_request_validator(
            restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
        )
    snapshot.match("update-request-validator-invalid-add-operation", e.value.response)

    patch_operations = [
        {"op": "remove", "path": "/validateRequestBody", "value": "true"},
    ]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_request_validator(
            restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
        )
    snapshot.match("update-request-validator-invalid-remove-operation", e.value.response)

    patch_operations = [
        {"op": "replace", "path": "/invalidPath", "value": "true"},
    ]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_request_validator(
            restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
        )
    snapshot.match("update-request-validator-invalid-path", e.value.response)

    patch_operations = [
        {"op": "replace", "path": "/name"},
    ]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_request_validator(
            restApiId=api_id, requestValidatorId=validator_id, patchOperations=patch_operations
        )
    snapshot.match("update-request-validator-empty-name-value", e.value.response)


@recorded("test_apigateway_api", "TestApigatewayMethodResponse::test_update_method_lack_response_parameters_and_models")
def test_update_method_lack_response_parameters_and_models(aws_client, apigw_create_rest_api, snapshot
):
    snapshot.add_transformer(snapshot.transform.key_value("cacheNamespace"))
    apigw_client = aws_client.apigateway
    response = apigw_create_rest_api(name=f"test-api-{short_uid()}")
    api_id = response["id"]
    root_resource_id = response["rootResourceId"]

    apigw_client.put_method(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw_client.put_integration(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    apigw_client.put_method_response(
        restApiId=api_id,
        resourceId=root_resource_id,
        httpMethod="GET",
        statusCode="200",
    )

    with pytest.raises(ClientError) as e:
        apigw_client.update_method_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="200",
            patchOperations=[
                {
                    "op": "remove",
                    "path": "/responseParameters/method.response.header.my-header",
                    "value": "true",
                },
            ],
        )
    snapshot.match(
        "update-method-response-operation-without-response-parameters", e.value.response
    )

    with pytest.raises(ClientError) as e:
        apigw_client.update_method_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="200",
            patchOperations=[
                {
                    "op": "remove",
                    "path": "/responseModels/application~1json",
                    "value": "Empty",
                },
            ],
        )
    snapshot.match("update-method-response-operation-without-response-models", e.value.response)

    with pytest.raises(ClientError) as e:
        apigw_client.update_method_response(
            restApiId=api_id,
            resourceId=root_resource_id,
            httpMethod="GET",
            statusCode="200",
            patchOperations=[
                {
                    "op": "remove",
                    "path": "/wrong/method.response.header.my-header",
                    "value": "true",
                },
            ],
        )
    snapshot.match("update-method-response-operation-with-wrong-path", e.value.response)


@recorded("test_apigateway_api", "TestApiGatewayApiMethod::test_update_method_validation")
def test_update_method_validation(apigw_create_rest_api, snapshot, aws_client):
    response = apigw_create_rest_api(
        name=f"test-api-{short_uid()}", description="testing resource method request params"
    )
    api_id = response["id"]
    root_id = response["rootResourceId"]

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_method(
            restApiId="fake-api",
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=[],
        )
    snapshot.match("wrong-rest-api", e.value.response)

    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId="fake-resource-id",
            httpMethod="ANY",
            patchOperations=[],
        )
    snapshot.match("wrong-resource-id", e.value.response)

    # method is not set for the resource?
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "replace", "path": "/operationName", "value": "methodDoesNotExist"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="GET",
            patchOperations=patch_operations_add,
        )
    snapshot.match("method-does-not-exist", e.value.response)

    put_method_response = aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="ANY",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    snapshot.match("put-method-response", put_method_response)

    # unsupported operation
    patch_operations_add = [
        {"op": "add", "path": "/operationName", "value": "operationName"},
    ]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("unsupported-operation", e.value.response)

    # unsupported operation
    patch_operations_add_2 = [
        {"op": "add", "path": "/requestValidatorId", "value": "wrong-id"},
    ]
    with pytest.raises(ClientError) as e:
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add_2,
        )
    snapshot.match("unsupported-operation-2", e.value.response)

    # unsupported path
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "add", "path": "/httpMethod", "value": "PUT"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("unsupported-path", e.value.response)

    # wrong path for requestParameters
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {
                "op": "replace",
                "path": "/requestParameters",
                "value": "method.request.querystring.optional=false",
            },
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("wrong-path-request-parameters", e.value.response)

    # wrong path for requestModels
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "add", "path": "/requestModels/application/json", "value": "Empty"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("wrong-path-request-models", e.value.response)

    # wrong value type
    patch_operations_add = [
        {"op": "replace", "path": "/apiKeyRequired", "value": "whatever"},
    ]
    wrong_value_type_resp = aws_client.apigateway.update_method(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="ANY",
        patchOperations=patch_operations_add,
    )
    snapshot.match("wrong-value-type", wrong_value_type_resp)

    # add auth type without authorizer?
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("wrong-auth-type", e.value.response)

    # add auth id when method has NONE, AWS will ignore it
    patch_operations_add = [
        {"op": "replace", "path": "/authorizerId", "value": "abc123"},
    ]
    response = aws_client.apigateway.update_method(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="ANY",
        patchOperations=patch_operations_add,
    )
    snapshot.match("skip-auth-id-with-wrong-type", response)

    # add auth type without real authorizer id?
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
            {"op": "replace", "path": "/authorizerId", "value": "abc123"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("wrong-auth-id", e.value.response)

    # replace wrong validator id
    with pytest.raises(ClientError) as e:
        patch_operations_add = [
            {"op": "replace", "path": "/requestValidatorId", "value": "fake-id"},
        ]
        aws_client.apigateway.update_method(
            restApiId=api_id,
            resourceId=root_id,
            httpMethod="ANY",
            patchOperations=patch_operations_add,
        )
    snapshot.match("wrong-req-validator-id", e.value.response)


@recorded("test_apigateway_common", "TestApiGatewayCommon::test_api_gateway_request_validator_with_ref_models")
def test_api_gateway_request_validator_with_ref_models(create_rest_apigw, apigw_redeploy_api, snapshot, aws_client
):
    api_id, _, root = create_rest_apigw(name="test ref models")

    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("id"),
            snapshot.transform.regex(api_id, "<api-id>"),
        ]
    )

    resource_id = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="path"
    )["id"]

    validator_id = aws_client.apigateway.create_request_validator(
        restApiId=api_id,
        name="test-validator",
        validateRequestParameters=True,
        validateRequestBody=True,
    )["id"]

    # create nested Model schema to validate body
    aws_client.apigateway.create_model(
        restApiId=api_id,
        name="testSchema",
        contentType="application/json",
        schema=json.dumps(
            {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "title": "testSchema",
                "type": "object",
                "properties": {
                    "a": {"type": "number"},
                    "b": {"type": "number"},
                },
                "required": ["a", "b"],
            }
        ),
    )

    aws_client.apigateway.create_model(
        restApiId=api_id,
        name="testSchemaList",
        contentType="application/json",
        schema=json.dumps(
            {
                "type": "array",
                "items": {
                    # hardcoded URL to AWS
                    "$ref": f"https://apigateway.amazonaws.com/restapis/{api_id}/models/testSchema"
                },
            }
        ),
    )

    get_models = aws_client.apigateway.get_models(restApiId=api_id)
    get_models["items"] = sorted(get_models["items"], key=itemgetter("name"))
    snapshot.match("get-models-with-ref", get_models)

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        authorizationType="NONE",
        requestValidatorId=validator_id,
        requestModels={"application/json": "testSchemaList"},
    )

    aws_client.apigateway.put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        statusCode="200",
    )

    aws_client.apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    aws_client.apigateway.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        statusCode="200",
        selectionPattern="",
        responseTemplates={"application/json": json.dumps({"data": "ok"})},
    )

    stage_name = "local"
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)

    url = api_invoke_url(api_id, stage=stage_name, path="/path")

    def invoke_api(_data: dict) -> dict:
        _response = requests.post(url, verify=False, json=_data)
        assert _response.ok
        content = _response.json()
        return content

    # test that with every request parameters and a valid body, it passes
    response = retry(
        invoke_api, retries=10 if is_aws_cloud() else 3, sleep=1, _data=[{"a": 1, "b": 2}]
    )
    snapshot.match("successful", response)

    response_post_no_body = requests.post(url)
    assert response_post_no_body.status_code == 400
    snapshot.match("failed-validation", response_post_no_body.json())


@recorded("test_apigateway_common", "TestApiGatewayCommon::test_api_gateway_request_validator_with_ref_one_ofmodels")
def test_api_gateway_request_validator_with_ref_one_ofmodels(create_rest_apigw, apigw_redeploy_api, snapshot, aws_client
):
    api_id, _, root = create_rest_apigw(name="test oneOf ref models")

    snapshot.add_transformers_list(
        [
            snapshot.transform.key_value("id"),
            snapshot.transform.regex(api_id, "<api-id>"),
        ]
    )

    resource_id = aws_client.apigateway.create_resource(
        restApiId=api_id, parentId=root, pathPart="path"
    )["id"]

    validator_id = aws_client.apigateway.create_request_validator(
        restApiId=api_id,
        name="test-validator",
        validateRequestParameters=True,
        validateRequestBody=True,
    )["id"]

    aws_client.apigateway.create_model(
        restApiId=api_id,
        name="StatusModel",
        contentType="application/json",
        schema=json.dumps(
            {
                "type": "object",
                "properties": {"Status": {"type": "string"}, "Order": {"type": "integer"}},
                "required": [
                    "Status",
                    "Order",
                ],
            }
        ),
    )

    aws_client.apigateway.create_model(
        restApiId=api_id,
        name="TestModel",
        contentType="application/json",
        schema=json.dumps(
            {
                "type": "object",
                "properties": {
                    "status": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "$ref": f"https://apigateway.amazonaws.com/restapis/{api_id}/models/StatusModel"
                            },
                        ]
                    },
                },
                "required": ["status"],
            }
        ),
    )

    get_models = aws_client.apigateway.get_models(restApiId=api_id)
    get_models["items"] = sorted(get_models["items"], key=itemgetter("name"))
    snapshot.match("get-models-with-ref", get_models)

    aws_client.apigateway.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        authorizationType="NONE",
        requestValidatorId=validator_id,
        requestModels={"application/json": "TestModel"},
    )

    aws_client.apigateway.put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        statusCode="200",
    )

    aws_client.apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )

    aws_client.apigateway.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        statusCode="200",
        selectionPattern="",
        responseTemplates={"application/json": json.dumps({"data": "ok"})},
    )

    stage_name = "local"
    aws_client.apigateway.create_deployment(restApiId=api_id, stageName=stage_name)

    url = api_invoke_url(api_id, stage=stage_name, path="/path")

    def invoke_api(_data: dict) -> dict:
        _response = requests.post(url, verify=False, json=_data)
        assert _response.ok
        content = _response.json()
        return content

    # test that with every request parameters and a valid body, it passes
    response = retry(
        invoke_api, retries=10 if is_aws_cloud() else 3, sleep=1, _data={"status": None}
    )
    snapshot.match("successful", response)

    response = invoke_api({"status": {"Status": "works", "Order": 1}})
    snapshot.match("successful-with-data", response)

    response_post_no_body = requests.post(url)
    assert response_post_no_body.status_code == 400
    snapshot.match("failed-validation-no-data", response_post_no_body.json())

    response_post_bad_body = requests.post(url, json={"badFormat": "bla"})
    assert response_post_bad_body.status_code == 400
    snapshot.match("failed-validation-bad-data", response_post_bad_body.json())
