"""The sandboxed template engine: variables, rendering, and every limit a hostile template meets."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from pulse.notify import templates
from pulse.notify.events import AlertEvent
from pulse.notify.templates import TemplateError
from tests.alert_events import make_event


def event(**overrides) -> AlertEvent:
    return make_event(
        **dict(
            event="ESCALATED",
            summary="temp <high> & rising",
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            actor="ann",
            details={"temp_c": 31.5, "escalation_level": 2},
        )
        | overrides
    )


VALUES = templates.variables(event())


def render(source: str, **kwargs) -> str:
    return templates.render(source, VALUES, **kwargs)


def refused(source: str, match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        render(source)


def test_variables_cover_the_documented_names():
    values = templates.variables(event())
    assert set(values) == templates.NAMES
    assert values == {
        "alert_id": 42,
        "tenant_id": "acme",
        "device_id": "pump-1",
        "site_id": "site-1",
        "alert_type": "THRESHOLD",
        "severity": 5,
        "severity_label": "CRITICAL",
        "summary": "temp <high> & rising",
        "status": "OPEN",
        "event": "ESCALATED",
        "headline": "[CRITICAL] Escalated (level 2): THRESHOLD on pump-1",
        "created_at": "2026-01-02T03:04:05+00:00",
        "actor": "ann",
        "details": {"temp_c": 31.5, "escalation_level": 2},
        "escalation_level": 2,
        "ack_url": None,  # set only on a message to a person
    }
    assert templates.variables(event(details={}))["escalation_level"] is None


def test_renders_values_filters_loops_and_conditions():
    source = (
        "{{ severity_label|lower }} {{ severity * 2 }} {{ device_id|upper }}"
        "{% for key, value in details|dictsort %} {{ loop.index }}:{{ key }}={{ value }}{% endfor %}"
        "{% if severity >= 5 %} urgent{% endif %} {{ [alert_id, site_id]|join('/') }}"
    )
    assert render(source) == "critical 10 PUMP-1 1:escalation_level=2 2:temp_c=31.5 urgent 42/site-1"


def test_text_is_not_escaped_but_html_is():
    assert render("{{ summary }} {{ 'a' ~ summary }}") == "temp <high> & rising atemp <high> & rising"
    html = render("<p>{{ summary }}</p>{{ 'a' ~ summary }}", html=True)
    assert html == "<p>temp &lt;high&gt; &amp; rising</p>atemp &lt;high&gt; &amp; rising"


def test_tojson_makes_valid_json_of_any_value():
    rendered = render('{"s": {{ summary|tojson }}, "d": {{ details|tojson }}, "n": {{ actor|tojson }}}')
    assert rendered.startswith('{"s": "temp \\u003chigh\\u003e \\u0026 rising"')


def test_missing_detail_renders_empty_but_unknown_name_is_refused():
    assert render("[{{ details.humidity }}][{{ details.a.b }}]") == "[][]"
    with pytest.raises(TemplateError, match="unknown variable: humidty"):
        templates.validate("{{ humidty }}")


def test_template_error_is_a_value_error():
    # pydantic turns a validator's ValueError into a 422 naming the field
    assert issubclass(TemplateError, ValueError)


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("{% if %}", "line 1: Expected an expression"),
        ("{{ summary ", "line 1: unexpected end of template"),
        ("line\n{% for x in details %}", "line 2: Unexpected end of template"),
        ("{{ summary|center(9) }}", "No filter named 'center'"),
        ("{{ summary|safe }}", "No filter named 'safe'"),
        ("{{ summary|format(1) }}", "No filter named 'format'"),
    ],
)
def test_syntax_errors_and_unknown_filters_are_refused_at_save(source, match):
    with pytest.raises(TemplateError, match=match):
        templates.validate(source)


def test_long_template_is_refused():
    templates.validate("x" * templates.MAX_SOURCE)
    with pytest.raises(TemplateError, match="template longer than 10000"):
        templates.validate("x" * (templates.MAX_SOURCE + 1))


def test_huge_output_stops_streaming():
    fits = "{% for i in range(64) %}{{ 'x' * 1024 }}{% endfor %}"
    assert len(render(fits)) == 64 * 1024
    refused(fits + "!", "output longer than 65536")
    refused(
        "{% for i in range(100) %}{% for j in range(100) %}{{ 'x' * 100 }}{% endfor %}{% endfor %}", "output"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 10**9 }}",
        "{{ 10**9 * 'a' }}",
        "{{ [1] * 10**9 }}",
        "{% set a = 'x' * 60000 %}{{ a + a }}",
        "{% set a = ['x' * 60000] * 2 %}",
        "{% set a = 'x' * 60000 %}{{ [a, a] }}",
        "{% set a = 'x' * 60000 %}{{ {'k': a, 'l': a} }}",
        "{% set a = 'x' * 60000 %}{{ (a, a) }}",
    ],
)
def test_repetition_and_big_values_are_refused_before_they_are_built(source):
    started = time.monotonic()
    refused(source, "value longer than 65536")
    assert time.monotonic() - started < 1


def test_doubling_through_concatenation_is_refused():
    doubling = "{% set a = 'x' * 1000 %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}"
    refused(doubling, "value longer than 65536")


def test_amplifying_filters_are_bounded():
    refused("{% set a = 'x' * 60000 %}{{ a|list|join(a) }}", "value longer")
    refused("{% set a = 'x' * 60000 %}{{ a|replace('', 'yy') }}", "value longer")
    refused("{% set a = 'x' * 600 %}{{ a|replace('x', a) }}", "value longer")
    assert render("{{ device_id|replace('-', ' ') }} {{ ['a', 'b']|join(', ') }}") == "pump 1 a, b"


def test_big_powers_are_refused():
    # Jinja's ** is left-associative: 9**9**9 is (9**9)**9, a 77-digit number, which is fine.
    assert render("{{ 9**9**9 }}") == str((9**9) ** 9)
    started = time.monotonic()
    refused("{{ 9 ** (9 ** 9) }}", "number larger than 1024 bits")
    refused("{{ 10 ** 1000 }}", "number larger")
    refused("{% set n = 10 ** 300 %}{{ n * n * n * n }}", "number larger")
    assert time.monotonic() - started < 1
    assert render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 % 3 }}") == "1024 0.5 1"


def test_percent_formatting_of_strings_is_refused():
    refused("{{ '%0999999999d' % 1 }}", "% formatting of strings is not allowed")


def test_loops_nest_at_most_two_deep():
    two = "{% for a in range(2) %}{% for b in range(2) %}{{ a }}{{ b }}{% endfor %}{% endfor %}"
    assert render(two) == "00011011"
    three = "{% for a in range(2) %}{% for b in range(2) %}{% for c in range(2) %}{% endfor %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="loops nest deeper than 2"):
        templates.validate(three)
    in_else = "{% for a in details %}{% else %}{% for b in details %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="loops nest deeper than 2"):
        templates.validate(in_else)


def test_range_is_capped():
    assert render("{{ range(100)|list|length }}") == "100"
    refused("{{ range(101)|list|length }}", "range longer than 100")
    refused("{{ range(10**9)|length }}", "range longer")


def test_loop_steps_are_budgeted():
    # Iterating characters is not capped by range: the step budget stops a loop that prints nothing.
    spin = "{% set s = 'x' * 1000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}done"
    started = time.monotonic()
    refused(spin, "loops took more than 10000 steps")
    assert time.monotonic() - started < 1


def test_slow_render_stops_at_the_deadline(monkeypatch):
    monkeypatch.setattr(templates, "MAX_SECONDS", 0.0)
    refused("{% for i in range(3) %}{{ i }}{% endfor %}", "took longer than")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ details.__class__.__subclasses__() }}",
        "{{ summary['__class__'] }}",
        "{{ range.__globals__ }}",
        "{{ details.__init__.__globals__ }}",
    ],
)
def test_private_attributes_are_refused_by_the_sandbox(source):
    refused(source, "is not allowed")


@pytest.mark.parametrize(
    "source",
    [
        "{{ summary.ljust(10**9) }}",
        "{{ summary.center(10) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ summary.format_map(details) }}",
        "{{ summary.replace('', summary) }}",
        "{{ summary.join(details) }}",
        "{{ details.update(a=1) }}",
        "{{ details.pop('temp_c') }}",
    ],
)
def test_only_whitelisted_methods_exist(source):
    refused(source, "is not allowed")


def test_whitelisted_methods_work():
    assert render("{{ summary.upper() }}|{{ details.get('temp_c') }}|{{ device_id.split('-') }}") == (
        "TEMP <HIGH> & RISING|31.5|['pump', '1']"
    )


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}", "macro"),
        ("{% call range(1) %}x{% endcall %}", "call"),
        ("{% set x %}{{ summary }}{% endset %}", "set … endset"),
        ("{% filter upper %}x{% endfilter %}", "filter"),
        ("{% include 'other' %}", "include"),
        ("{% import 'other' as o %}", "import"),
        ("{% from 'other' import x %}", "from … import"),
        ("{% extends 'base' %}", "extends"),
    ],
)
def test_recursion_capture_and_loading_tags_are_refused(source, tag):
    with pytest.raises(TemplateError, match=f"{{% {tag} %}} is not allowed"):
        templates.validate(source)


def test_recursive_loops_are_refused():
    with pytest.raises(TemplateError, match="recursive loops are not allowed"):
        templates.validate("{% for x in details recursive %}{{ loop(x) }}{% endfor %}")


def test_unpacking_targets_still_work():
    assert render(
        "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% for k, v in [('x', 1)] %}{{ k }}{{ v }}{% endfor %}"
    ) == ("12x1")


def test_compiled_templates_are_reused():
    templates.validate("{{ alert_id }} cached")
    before = templates._compile.cache_info().hits
    render("{{ alert_id }} cached")
    assert templates._compile.cache_info().hits == before + 1
