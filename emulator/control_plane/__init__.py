"""The AWS control-plane API (apigateway 2015-07-09, lambda 2015-03-31) over the emulator's state."""
