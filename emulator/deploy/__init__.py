"""Deploy a lambda-canary config to AWS (or to an emulator serving the AWS API) with boto3.

Reads the config only: nothing here imports the data plane (emulator.apigateway, emulator.lambda_service).
"""
