"""The local Lambda service: functions, versions, aliases, execution environments and the Runtime API."""
