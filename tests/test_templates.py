"""Mapping templates (VTL) rendered as the API Gateway developer guide documents them.

Each example is the guide's template and input, compared with the guide's documented output (as JSON, since
whitespace between tokens is not part of what the guide states). Sources:
- [REF] "API Gateway mapping template and access logging variable reference",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
  (github.com/awsdocs/amazon-api-gateway-developer-guide, doc_source/api-gateway-mapping-template-reference.md,
  commit 086b5aef).
- [TUT] "Tutorial: Modify the integration request and response for integrations to AWS services" (the PetStore
  templates), https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-data-transformations-in-api-gateway.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.apigateway.templates import BodyNotJson, TemplateError, Util, render, template_problem

PARAMS = {"path": {"id": "abc"}, "querystring": {"name": "Marcus"}, "header": {"Accept": "application/json"}}
PETS = [{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99}]


def rendered(template: str, body: Any = "", *, params: dict[str, dict[str, str]] | None = None,
             context: dict[str, Any] | None = None, stage_variables: dict[str, str] | None = None) -> str:
    """Render with the given input; a non-string body is sent as JSON."""
    text = body if isinstance(body, str) else json.dumps(body)
    return render(template, body=text, parameters=PARAMS if params is None else params, context=context or {},
                  stage_variables=stage_variables or {})


# ---- [REF] "$input Variable Template Examples" ---------------------------------------------------------------
def test_parameter_mapping_example_passes_every_parameter() -> None:
    """[REF] "Parameter Mapping Template Example": path, querystring and header, each with its values."""
    template = """#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"""
    params = {"path": {"path_name": "path_value"}, "querystring": {"querystring_name": "querystring_value"},
              "header": {"header_name": "header_value"}}
    assert json.loads(rendered(template, params=params)) == {"params": {
        "path": {"path_name": "path_value"},
        "header": {"header_name": "header_value"},
        "querystring": {"querystring_name": "querystring_value"},
    }}


def test_json_mapping_example_reads_a_query_parameter_and_the_whole_body() -> None:
    """[REF] "Example JSON Mapping Template Using $input": `$input.params('name')` and `$input.json('$')`."""
    template = '{\n    "name" : "$input.params(\'name\')",\n    "body" : $input.json(\'$\') \n}'
    body = {"mykey": {"nested": [1, 2]}, "other": "x"}
    assert json.loads(rendered(template, body)) == {"name": "Marcus", "body": body}


def test_mapping_example_with_a_jsonpath_property() -> None:
    """[REF] "Example Mapping Template Using $input": `$input.json('$.mykey')`."""
    template = '{\n    "name" : "$input.params(\'name\')",\n    "body" : $input.json(\'$.mykey\')  \n}'
    assert json.loads(rendered(template, {"mykey": {"a": "b"}})) == {"name": "Marcus", "body": {"a": "b"}}


def test_request_and_response_example_with_all_three_functions() -> None:
    """[REF] "Example Request and Response Using $input": POST /things/abc with three things gives id "abc",
    count "3"; `things` is `$util.escapeJavaScript($input.json('$.things'))`, the JSON with its quotes escaped."""
    template = """{
    "id" : "$input.params('id')",
    "count" : "$input.path('$.things').size()",
    "things" : $util.escapeJavaScript($input.json('$.things'))
}"""
    out = rendered(template, {"things": {"1": {}, "2": {}, "3": {}}})
    assert '"id" : "abc"' in out
    assert '"count" : "3"' in out
    assert '"things" : {\\"1\\":{},\\"2\\":{},\\"3\\":{}}' in out


def test_input_path_count_of_the_pets_array() -> None:
    """[REF] `$input.path(x)`: for the three pets, `$input.path('$.pets').count()` returns "3" (and `.size()`, the
    Java name, too); the elements are walked natively."""
    out = rendered("$input.path('$.pets').count() $input.path('$.pets').size() $input.path('$.pets')[1].type",
                   {"pets": PETS})
    assert out == "3 3 cat"


# ---- [REF] "$util Variables" ---------------------------------------------------------------------------------
def test_parse_json_example() -> None:
    """[REF] `$util.parseJson()`: the errorMessage holding stringified JSON; the template reads key2.arr[0]."""
    body = {"errorMessage": "{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}
    template = """#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{
   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]
}
"""
    assert json.loads(rendered(template, body)) == {"errorMessageObjKey2ArrVal": 1}


def test_escape_javascript_turns_single_quotes_into_escaped_ones() -> None:
    """[REF] `$util.escapeJavaScript()`: "will turn any regular single quotes (') into escaped ones (\\')", and the
    guide's remedy `.replaceAll("\\\\'","'")` turns them back."""
    assert rendered("$util.escapeJavaScript($input.path('$.s'))", {"s": "it's"}) == "it\\'s"
    template = """$util.escapeJavaScript($input.path('$.s')).replaceAll("\\\\'","'")"""
    assert rendered(template, {"s": "it's"}) == "it's"
    assert Util.escapeJavaScript('say "hi"\n\ttab\\') == 'say \\"hi\\"\\n\\ttab\\\\'


@pytest.mark.parametrize(("template", "expected"), [
    ("$util.urlEncode('a b&c=d/é')", "a+b%26c%3Dd%2F%C3%A9"),  # application/x-www-form-urlencoded
    ("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", "a b&c=d/é"),
    ("$util.base64Encode('hello, world')", "aGVsbG8sIHdvcmxk"),
    ("$util.base64Decode('aGVsbG8sIHdvcmxk')", "hello, world"),
])
def test_util_encodings(template: str, expected: str) -> None:
    """[REF] urlEncode/urlDecode ("application/x-www-form-urlencoded") and base64Encode/base64Decode (UTF-8)."""
    assert rendered(template) == expected


# ---- [TUT] the PetStore templates ----------------------------------------------------------------------------
def test_petstore_response_template() -> None:
    """[TUT] "To transform the GET integration response": the three pets become description/askingPrice."""
    template = """#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot)
  {
    "description" : "Item $elem.id is a $elem.type.",
    "askingPrice" : $elem.price
  }#if($foreach.hasNext),#end

#end
]"""
    assert json.loads(rendered(template, PETS)) == [
        {"description": "Item 1 is a dog.", "askingPrice": 249.99},
        {"description": "Item 2 is a cat.", "askingPrice": 124.99},
        {"description": "Item 3 is a fish.", "askingPrice": 0.99},
    ]


def test_petstore_post_request_template() -> None:
    """[TUT] "To transform input data from the POST method": the DynamoDB PutItem body from the pet's fields."""
    template = """{
    "TableName":"data-transformation-tutorial-console-ddb",
    "Item": {
        "id": {
            "N": $input.json("$.id")
        },
        "type": {
            "S": $input.json("$.type")
        },
        "price": {
            "N": $input.json("$.price")
        }
    }
}"""
    out = rendered(template, '{\n          "id": "4",\n          "type" : "dog",\n          "price": "321"\n}')
    assert json.loads(out) == {"TableName": "data-transformation-tutorial-console-ddb",
                               "Item": {"id": {"N": "4"}, "type": {"S": "dog"}, "price": {"N": "321"}}}


def test_petstore_post_response_template_reads_the_request_time() -> None:
    """[TUT] the POST integration response `{ "message" : "Your response was recorded at $context.requestTime" }`."""
    out = rendered('{ "message" : "Your response was recorded at $context.requestTime" }',
                   context={"requestTime": "10/Mar/2020:00:03:59 +0000"})
    assert json.loads(out) == {"message": "Your response was recorded at 10/Mar/2020:00:03:59 +0000"}


# ---- [REF] "$context Variable Template Example" and $stageVariables -------------------------------------------
def test_context_variable_example() -> None:
    """[REF] the `$context` example maps context variables to backend names; a null one (apiKey without an API
    key) prints empty, as API Gateway prints undefined references."""
    template = """{
    "stage" : "$context.stage",
    "request_id" : "$context.requestId",
    "api_id" : "$context.apiId",
    "resource_path" : "$context.resourcePath",
    "resource_id" : "$context.resourceId",
    "http_method" : "$context.httpMethod",
    "source_ip" : "$context.identity.sourceIp",
    "user-agent" : "$context.identity.userAgent",
    "account_id" : "$context.identity.accountId",
    "api_key" : "$context.identity.apiKey",
    "caller" : "$context.identity.caller",
    "user" : "$context.identity.user",
    "user_arn" : "$context.identity.userArn"
}"""
    context = {"stage": "prod", "requestId": "abcdefg-000-000-0000-abcdefg", "apiId": "abcd1234",
               "resourcePath": "/", "resourceId": "efg567", "httpMethod": "GET",
               "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/7.84.0", "accountId": "111122223333",
                            "apiKey": None, "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
                            "userArn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"}}
    assert json.loads(rendered(template, context=context)) == {
        "stage": "prod", "request_id": "abcdefg-000-000-0000-abcdefg", "api_id": "abcd1234", "resource_path": "/",
        "resource_id": "efg567", "http_method": "GET", "source_ip": "192.0.2.1", "user-agent": "curl/7.84.0",
        "account_id": "111122223333", "api_key": "", "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
        "user_arn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"}


def test_stage_variables_in_every_documented_syntax() -> None:
    """[REF] "$stageVariables": `.name`, `['name']` and `${stageVariables['name']}`; an undefined one is empty
    (reference §1.4: `{"version": "$stageVariables.version"}` gave `{"version": ""}`)."""
    template = "$stageVariables.v|$stageVariables['v']|${stageVariables['v']}|$stageVariables.missing|"
    assert rendered(template, stage_variables={"v": "2"}) == "2|2|2||"


def test_directives_set_if_foreach() -> None:
    """#set, #if/#elseif/#else and #foreach with $foreach.hasNext, on values from the body."""
    template = ("#set($n = $input.path('$.n'))#if($n > 2)big#elseif($n == 2)two#{else}small#end:"
                "#foreach($x in $input.path('$.xs'))$x#if($foreach.hasNext),#end#end")
    assert rendered(template, {"n": 2, "xs": ["a", "b", "c"]}) == "two:a,b,c"


# ---- errors --------------------------------------------------------------------------------------------------
def test_a_template_that_does_not_parse_names_its_line() -> None:
    """A syntax error is found before any request, with its line."""
    problem = template_problem('{\n  "a": 1,\n  #foreach($x in $xs)\n  "b": 2\n}')
    assert problem is not None and problem.startswith("line 5:"), problem
    with pytest.raises(TemplateError) as caught:
        rendered("ok\n#set($x = )\n")
    assert caught.value.line == 2
    assert template_problem('{"fine": "$input.json(\'$\')"}') is None


def test_a_failure_while_rendering_names_its_line() -> None:
    """`$util.parseJson` of text that is not JSON fails on the template line that calls it."""
    with pytest.raises(TemplateError) as caught:
        rendered('{\n  "ok": true,\n  "broken": $util.parseJson("not json")\n}')
    assert caught.value.line == 3


def test_json_of_a_body_that_is_not_json() -> None:
    """`$input.json` on a body that is not JSON is the caller's fault (API Gateway answers 400)."""
    with pytest.raises(BodyNotJson):
        rendered("$input.json('$')", "not json")
    assert rendered("$input.body", "not json") == "not json"
