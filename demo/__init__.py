"""The offline demo world: a deterministic, generated government internet served on 127.0.0.1."""
