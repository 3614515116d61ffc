"""`lambda-canary diff`: the same requests sent to both sides of a migration, every behavioural difference
reported (corpus -> sides -> observations -> comparison under rules -> table, JSON, HTML)."""
