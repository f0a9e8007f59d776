"""The SEM parser on descriptions written like Slicer's own CLI modules: every parameter type, every error case, and
the round trip XML -> description -> JSON -> description -> form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slicer_cloud.sem import SemError, parse_description
from slicer_cloud.sem.command import build_arguments
from slicer_cloud.sem.form import form_fields
from slicer_cloud.sem.model import PARAMETER_TYPES, ModuleDescription
from slicer_cloud.sem.validate import validate_values

ALL_TYPES = Path(__file__).parent / "sem_xml" / "all_types.xml"


@pytest.fixture(scope="module")
def tour() -> ModuleDescription:
    return parse_description(ALL_TYPES.read_bytes())


def test_the_metadata_of_the_executable_is_read(tour):
    assert tour.title == "Execution Model Tour"
    assert tour.category == "Developer Tools"
    assert tour.version == "5.0.0"
    assert tour.contributor.startswith("Test Author")
    assert tour.license == "Slicer"
    assert tour.acknowledgements == "Funded by nobody in particular."
    assert tour.documentation_url == "https://slicer.readthedocs.io/"
    assert tour.description.startswith("Shows one parameter")


def test_every_parameter_type_of_the_execution_model_is_parsed(tour):
    assert {p.tag for p in tour.parameters} == set(PARAMETER_TYPES)


def test_parameter_details_are_kept(tour):
    p = tour.parameter
    assert p("integerVariable").flag == "i" and p("integerVariable").longflag == "integer"
    assert p("integerVariable").default == "30"
    c = p("doubleVariable").constraints
    assert (c.minimum, c.maximum, c.step) == (0.0, 1000.0, 0.0)
    assert p("stringChoice").elements == ["Ron", "Eric", "Bill", "Ross", "Steve", "Will"]
    assert p("seed").multiple and p("seed").coordinate_system == "lps" and p("seed").longflag == "seed"
    assert p("hiddenString").hidden
    assert p("inputVolume").index == 0 and p("inputVolume").channel == "input" and p("inputVolume").type == "scalar"
    assert p("labelVolume").type == "label" and p("labelVolume").is_output
    assert [p(n).type for n in ("tensorVolume", "dwiVolume", "vectorVolume", "modelHierarchy")] == [
        "tensor",
        "diffusion-weighted",
        "vector",
        "model",
    ]
    assert p("fibers").type == "fiberbundle" and p("transformOutput").type == "bspline"
    assert p("transformOutput").reference == "inputVolume"
    assert p("inputFile").file_extensions == [".txt", ".csv"]
    assert p("anintegerreturn").is_return_value
    groups = {g.label: g for g in tour.groups}
    assert groups["Vector Parameters"].advanced and not groups["Enumeration Parameters"].advanced


def test_a_description_round_trips_through_json_into_the_same_form(tour):
    as_json = json.loads(json.dumps(tour.to_json()))
    again = ModuleDescription.from_json(as_json)
    assert again == tour
    fields = form_fields(as_json)
    by_name = {f["name"]: f for f in fields}
    assert "hiddenString" not in by_name and "anintegerreturn" not in by_name
    assert by_name["doubleVariable"]["widget"] == "number" and by_name["doubleVariable"]["maximum"] == 1000
    assert by_name["integerVariable"]["integer"] and by_name["integerVariable"]["step"] == 1
    assert by_name["stringChoice"]["widget"] == "select" and by_name["stringChoice"]["items"][0] == "Ron"
    assert by_name["boolean1"]["widget"] == "checkbox"
    assert by_name["integerVector"]["widget"] == "vector" and by_name["integerVector"]["advanced"]
    assert by_name["seed"]["widget"] == "point" and by_name["regions"]["widget"] == "region"
    assert by_name["inputVolume"] == {**by_name["inputVolume"], "widget": "input", "kind": "volume", "required": True}
    assert by_name["labelVolume"]["widget"] == "output" and by_name["labelVolume"]["kind"] == "labelmap"
    assert [f["name"] for f in fields][:2] == ["integerVariable", "doubleVariable"]


def test_values_become_the_command_line_slicer_would_build(tour):
    values, problems = validate_values(
        tour,
        {
            "integerVariable": "7",
            "boolean1": False,
            "seed": [[1, 2, 3], [4, 5, 6]],
            "integerVector": [4, 5],
            "stringChoice": "Ross",
            "inputVolume": "in.nrrd",
        },
    )
    assert problems == []
    values["outputVolume"] = "out.nrrd"
    args = build_arguments(tour, values)
    assert args[-2:] == ["in.nrrd", "out.nrrd"]
    assert args[args.index("--integer") + 1] == "7"
    assert "--boolean1" not in args
    assert [args[i + 1] for i, a in enumerate(args) if a == "--seed"] == ["1.0,2.0,3.0", "4.0,5.0,6.0"]
    assert args[args.index("--integer_vector") + 1] == "4,5"
    assert args[args.index("--enumeration") + 1] == "Ross"
    assert args[args.index("--double") + 1] == "30.0"  # defaults are passed explicitly


def test_every_invalid_value_is_reported_at_once(tour):
    _, problems = validate_values(
        tour,
        {
            "doubleVariable": 5000,
            "integerVariable": "seven",
            "stringChoice": "Nobody",
            "seed": [[1, 2]],
            "hiddenString": "x",
            "unknown": 1,
            "boolean1": "maybe",
        },
    )
    text = "\n".join(problems)
    assert len(problems) == 8, problems
    for expected in (
        "doubleVariable: 5000.0 is above the maximum 1000",
        "integerVariable: expected an integer",
        "stringChoice: must be one of",
        "seed: expected 3 numbers",
        "hiddenString: a hidden parameter cannot be set",
        "unknown: no such parameter",
        "boolean1: expected true or false",
        "inputVolume: required",
    ):
        assert expected in text


def _wrap(body: str) -> str:
    return f"""<?xml version="1.0"?>
<executable>
  <title>Broken</title>
  <parameters>
    <label>P</label>
{body}
  </parameters>
</executable>"""


ERRORS = {
    "not well-formed": ("<integer><name>x</name><flag>x</flag>", "not well-formed XML"),
    "unknown type": ("    <integr><name>x</name><flag>x</flag></integr>", "line 6: <integr>: unknown parameter type"),
    "no name": ("    <integer><flag>x</flag></integer>", "line 6: <integer>: a parameter needs a <name>"),
    "bad name": ("    <integer>\n<name>2x</name><flag>x</flag></integer>", "line 7: <name>: '2x' is not a valid name"),
    "no switch": ("    <integer><name>x</name></integer>", "give a <flag>, <longflag> or <index>"),
    "long flag": ("    <integer><name>x</name><flag>xy</flag></integer>", "<flag>: a flag is one character"),
    "bad default": ("    <integer><name>x</name><flag>x</flag><default>1.5</default></integer>", "default '1.5'"),
    "bad channel": (
        "    <image><name>x</name><index>0</index><channel>sideways</channel></image>",
        "<channel>: channel 'sideways'",
    ),
    "bad image type": ('    <image type="photo"><name>x</name><index>0</index></image>', 'type="photo"'),
    "bad coordinates": (
        '    <point coordinateSystem="xyz"><name>p</name><flag>p</flag></point>',
        "coordinateSystem must be one of",
    ),
    "empty enumeration": (
        "    <string-enumeration><name>e</name><flag>e</flag></string-enumeration>",
        "an enumeration needs at least one <element>",
    ),
    "default not in enumeration": (
        "    <string-enumeration><name>e</name><flag>e</flag><default>z</default><element>a</element>"
        "</string-enumeration>",
        "must be one of: a",
    ),
    "bad constraint": (
        "    <double><name>d</name><flag>d</flag><constraints><minimum>low</minimum></constraints></double>",
        "<minimum>: 'low' is not a number",
    ),
    "min above max": (
        "    <double><name>d</name><flag>d</flag><constraints><minimum>5</minimum><maximum>1</maximum>"
        "</constraints></double>",
        "minimum is larger than maximum",
    ),
    "constraints on text": (
        "    <string><name>s</name><flag>s</flag><constraints><minimum>1</minimum></constraints></string>",
        "constraints only apply to numeric parameters",
    ),
    "duplicate name": (
        "    <integer><name>x</name><flag>a</flag></integer>\n    <integer><name>x</name><flag>b</flag></integer>",
        "line 7: <integer>: duplicate parameter name 'x' (first on line 6)",
    ),
    "duplicate flag": (
        "    <integer><name>x</name><flag>a</flag></integer>\n    <integer><name>y</name><flag>a</flag></integer>",
        "flag 'a' is used by x too",
    ),
    "index gap": ("    <image><name>x</name><index>1</index></image>", "indices must be 0..0 without gaps"),
    "bad boolean attribute": (
        '    <integer multiple="yes"><name>x</name><flag>x</flag></integer>',
        'attribute multiple="yes" must be "true" or "false"',
    ),
    "index and flag": (
        "    <image><name>x</name><index>0</index><flag>x</flag></image>",
        "either an <index> or flags, not both",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_an_invalid_description_is_refused_naming_line_and_element(case):
    body, expected = ERRORS[case]
    with pytest.raises(SemError) as caught:
        parse_description(_wrap(body))
    assert expected in caught.value.message
    assert caught.value.message.startswith("line ")


def test_the_root_element_must_be_executable():
    with pytest.raises(SemError, match=r"line 2: <module>: the root element"):
        parse_description('<?xml version="1.0"?>\n<module><title>x</title></module>')


def test_entities_and_dtds_are_refused_not_expanded():
    bomb = """<?xml version="1.0"?>
<!DOCTYPE executable [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<executable><title>&b;</title></executable>"""
    with pytest.raises(SemError, match="DTD"):
        parse_description(bomb)


def test_an_oversized_description_is_refused():
    with pytest.raises(SemError, match="larger than"):
        parse_description("<executable>" + " " * (2 << 20) + "</executable>")
