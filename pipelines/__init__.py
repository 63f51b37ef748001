"""Item pipelines, one stage per module: normalize (100), detect (300), store (800)."""
