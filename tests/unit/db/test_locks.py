"""The advisory-lock registry: no two locks that mean different things can ever be the same lock."""

from pulse.db import locks

_INT4 = range(-(2**31), 2**31)
_BIGINT = range(-(2**63), 2**63)


def _constants() -> dict[str, object]:
    return {
        name: value for name, value in vars(locks).items() if name.isupper() and name != "SQL_FUNCTION_KEYS"
    }


def _bigint_keys() -> dict[str, int]:
    return {n: v for n, v in _constants().items() if isinstance(v, int) and not n.endswith("_CLASS")}


def _classes() -> dict[str, int]:
    return {n: v for n, v in _constants().items() if isinstance(v, int) and n.endswith("_CLASS")}


def _fixed_pairs() -> dict[str, tuple[int, int]]:
    return {n: v for n, v in _constants().items() if isinstance(v, tuple)}


def test_every_constant_is_a_key_a_class_or_a_pair() -> None:
    # A constant of another shape would escape the collision checks below.
    assert set(_constants()) == set(_bigint_keys()) | set(_classes()) | set(_fixed_pairs())


def test_bigint_keys_are_distinct_bigints() -> None:
    keys = _bigint_keys()
    assert all(v in _BIGINT for v in keys.values())
    assert len(set(keys.values())) == len(keys), keys


def test_pair_classes_are_distinct_int4() -> None:
    classes = _classes()
    assert all(v in _INT4 for v in classes.values())
    assert len(set(classes.values())) == len(classes), classes


def test_fixed_pairs_belong_to_a_class_and_are_distinct() -> None:
    pairs = _fixed_pairs()
    classes = set(_classes().values())
    for name, (cls, obj) in pairs.items():
        assert cls in classes, f"{name}: first key {cls:#x} is not a registered *_CLASS"
        assert obj in _INT4, name
    assert len(set(pairs.values())) == len(pairs), pairs


def test_keys_taken_by_sql_are_registered_bigint_keys() -> None:
    assert set(locks.SQL_FUNCTION_KEYS) <= set(_bigint_keys().values())


def test_values_are_the_ones_running_processes_use() -> None:
    # Old and new processes exclude each other only while they agree: a renumbered key is a new lock.
    assert _bigint_keys() == {
        "MIGRATIONS": 0x50554C5345,
        "PARTITION_MAINTENANCE": 5075736501,
        "ROLLUPS": 5075736502,
        "SIGNING_KEYS": 5075736520,
    }
    assert _classes() == {
        "EVALUATOR_CLASS": 0x5E7A1,
        "NOTIFY_DISPATCH_CLASS": 0x4E071F,
        "NOTIFY_TEST_SEND_CLASS": 0x7E57,
        "BROKER_ACCOUNTS_CLASS": 0xB20C,
        "ESCALATION_POLICIES_CLASS": 0xE5CA,
    }
    assert _fixed_pairs() == {
        "EVALUATOR_SWEEP": (0x5E7A1, 0),
        "EVALUATOR_RECONCILE": (0x5E7A1, 1),
        "NOTIFY_DISPATCH": (0x4E071F, 0),
    }
