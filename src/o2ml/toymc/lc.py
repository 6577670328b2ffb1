def generate_lc(*a, **k):
    raise NotImplementedError
