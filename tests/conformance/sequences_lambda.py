"""Lambda sequences recorded against AWS (LocalStack AWS-validated tests)."""
