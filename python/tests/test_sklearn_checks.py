"""scikit-learn's own estimator checks (parametrize_with_checks) for the native estimators and for a scikit-learn
node learner. Small models keep them fast; none is marked expected-to-fail (README.md would list it and why)."""
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import strata

ESTIMATORS = [
    strata.RandomForestClassifier(n_estimators=5, random_state=0),
    strata.HierarchicalClassifier(estimator="forest", n_estimators=5, random_state=0),
    strata.HierarchicalClassifier(estimator="logistic", random_state=0),
    # a scikit-learn node learner, cloned per node in Python
    strata.HierarchicalClassifier(estimator=LogisticRegression(), random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
