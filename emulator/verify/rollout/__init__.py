"""Progressive rollouts: a schedule of canary weights with a health judgement of canary against base at each step."""
