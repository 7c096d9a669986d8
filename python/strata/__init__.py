"""strata from Python: scikit-learn estimators for induced label hierarchies (the C++ hierarchy toolkit) and the
text engine (BERT encoders trained by strata's own executors). The native module strata._core does the numerical
work; this package validates input, encodes labels and follows scikit-learn's conventions."""
# The native module may sit in another folder on sys.path (a build tree: build/python/strata/_core*.so next to
# the sources in python/strata/); extend_path makes both one package. An installed package has both in one folder.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from ._core import __version__  # noqa: E402
from . import metrics  # noqa: E402
from .tree import LabelTree, induce_tree  # noqa: E402
from .estimators import HierarchicalClassifier, RandomForestClassifier  # noqa: E402
from .experiment import compare  # noqa: E402
from .text import TextClassifier  # noqa: E402

__all__ = ["LabelTree", "induce_tree", "RandomForestClassifier", "HierarchicalClassifier", "compare",
           "TextClassifier", "metrics", "__version__"]
