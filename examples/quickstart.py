"""strata quick start: induce a label hierarchy from data, fit a hierarchical classifier on it, score it against a
flat forest, and draw the tree. Runs in a few seconds (scikit-learn's bundled digits: 1797 images, 10 classes)."""
import sys

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import strata

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)

tree = strata.induce_tree(X_train, y_train, random_state=0)  # class means -> CMDS -> GMM, as `strata induce`
print("induced groups:", tree.groups())

hier = strata.HierarchicalClassifier(tree=tree, n_estimators=50, random_state=0).fit(X_train, y_train)
flat = strata.RandomForestClassifier(n_estimators=50, random_state=0).fit(X_train, y_train)
print(f"hierarchical accuracy {hier.score(X_test, y_test):.3f}, flat {flat.score(X_test, y_test):.3f}")

out = sys.argv[1] if len(sys.argv) > 1 else "digits-tree.svg"
with open(out, "w") as f:
    f.write(tree.to_svg())  # in a notebook, just show `tree`
print("wrote", out)
