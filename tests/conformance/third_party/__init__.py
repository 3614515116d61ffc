"""LocalStack's AWS-validated tests (https://github.com/localstack/localstack, Apache-2.0, commit
8b9a79f05846835cf4dff63ab7eefdde9df83783), kept as written so they stay comparable with the original; their
repetitions are LocalStack's. Changes are marked `# lambda-canary:`."""
