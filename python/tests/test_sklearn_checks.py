"""scikit-learn's own estimator checks (parametrize_with_checks) for the native estimators. Small models keep them
fast; README.md lists any check marked expected-to-fail and why."""
from sklearn.utils.estimator_checks import parametrize_with_checks

import strata

ESTIMATORS = [
    strata.RandomForestClassifier(n_estimators=5, random_state=0),
    strata.HierarchicalClassifier(estimator="forest", n_estimators=5, random_state=0),
    strata.HierarchicalClassifier(estimator="logistic", random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
