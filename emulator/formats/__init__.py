"""The file formats, in and out: lambda-canary's config, serverless.yml, CloudFormation/SAM templates and OpenAPI
documents read into the config model (load.py and one module per format), `check` (check.py) and `export`
(export.py). The config model (emulator/config.py) knows none of them."""
