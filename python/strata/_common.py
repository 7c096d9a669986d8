"""Helpers shared by the estimators: input validation through scikit-learn, the float32 view the C++ core reads in
place, seeds from random_state, thread counts from n_jobs and the verbose/callback progress hook."""
import os
import sys

import numpy as np
from sklearn.utils import check_random_state

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # Debian 12's 1.2: the estimator method
    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)


_NO_Y = object()


def validate(est, X, y=_NO_Y, reset=True):
    """check_X_y / check_array through scikit-learn (messages, feature names, n_features_in_), keeping float32.

    float32 input comes back as the same array (no copy); float64 and integer input is converted to float32 later,
    once, by as_f32."""
    kw = dict(dtype=[np.float32, np.float64], reset=reset)
    if y is _NO_Y:
        return _validate_data(est, X, **kw)
    return _validate_data(est, X, y, **kw)


def as_f32(X):
    """The C-contiguous float32 array the core reads in place: X itself when it already is one, else one copy."""
    return np.ascontiguousarray(X, dtype=np.float32)


def seed_of(random_state):
    """An int random_state is the seed the CLI's --seed takes; None or a RandomState draws one."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def threads_of(n_jobs):
    """n_jobs as strata's thread count: None or -1 -> 0 (all cores, the CLI's default), -2 -> all but one, ..."""
    if n_jobs is None or n_jobs == -1:
        return 0
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive count")
    return int(n_jobs)


def progress_callback(verbose, callback):
    """The Python callable the core's progress events go to: the user's callback, else printing when verbose."""
    if callback is not None:
        return callback
    if not verbose:
        return None

    def show(event):
        kind = event["event"]
        if kind == "message":
            line = event["text"]
        elif kind == "step":
            line = (f"step {event['step']}/{event['total']} loss {event['loss']:.4f} lr {event['lr']:.2e} "
                    f"{event['tokens_per_s']:.0f} tokens/s eta {event['eta_seconds']:.0f} s")
        elif kind == "result":
            line = event["summary"]
        else:
            line = f"wrote {event['path']} ({event['what']})"
        print(f"strata: {line}", file=sys.stderr, flush=True)
    return show
