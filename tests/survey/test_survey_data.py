"""The data files (catalog, rules, overrides), link normalisation, post HTML and pacing, without a forum."""

from __future__ import annotations

import re
import threading
import time
from importlib import resources

import pytest
import yaml

from slicer_cloud.survey.catalog import KNOWN_APPROACHES, Overrides, load_catalog, load_overrides, load_rules
from slicer_cloud.survey.client import RateLimiter
from slicer_cloud.survey.errors import SurveyDataError
from slicer_cloud.survey.html_text import extract
from slicer_cloud.survey.links import clean, is_external, normalise
from slicer_cloud.survey.model import MalformedTopic, Topic, TopicLink, fill_topic
from slicer_cloud.survey.relevance import decide

# One link each technology of the catalog must claim (and the one it must claim it for).
EXAMPLES = {
    "https://github.com/pieper/SlicerDockers/blob/master/README.md": "SlicerDockers",
    "https://hub.docker.com/r/stevepieper/slicer-chronicle": "SlicerDockers",
    "https://virtualgl.org/About/Introduction": "VirtualGL",
    "https://www.turbovnc.org/": "TurboVNC",
    "https://novnc.com/info.html": "noVNC",
    "https://github.com/novnc/websockify": "noVNC",
    "https://guacamole.apache.org/doc/gug/": "Apache Guacamole",
    "https://www.nomachine.com/download": "X2Go / NoMachine",
    "https://github.com/MorphoCloud/MorphoCloudWorkflow": "MorphoCloud",
    "https://github.com/pieper/SlicerWeb": "SlicerWeb / WebServer",
    "https://slicer.readthedocs.io/en/latest/user_guide/modules/webserver.html": "SlicerWeb / WebServer",
    "https://github.com/Slicer/Slicer/tree/main/Modules/Scripted/WebServer": "SlicerWeb / WebServer",
    "https://github.com/girder/slicer_cli_web": "girder slicer_cli_web",
    "https://github.com/Slicer/SlicerExecutionModel": "Slicer execution model (CLI)",
    "https://github.com/Project-MONAI/MONAILabel": "MONAI Label",
    "https://github.com/Slicer/SlicerJupyter#readme": "SlicerJupyter",
    "https://mybinder.org/v2/gh/Slicer/SlicerNotebooks/master": "Binder",
    "https://github.com/voila-dashboards/voila": "Voila",
    "https://colab.research.google.com/github/x/y/blob/main/a.ipynb": "Google Colab",
    "https://z2jh.jupyter.org/en/stable/": "JupyterHub",
    "https://www.slicer.org/wiki/Documentation/4.10/Developers/Slicelets": "Slicelets",
    "https://kitware.github.io/vtk-js/examples/VolumeViewer.html": "vtk.js",
    "https://github.com/KitwareMedical/trame-slicer": "trame / trame-slicer",
    "https://kitware.github.io/trame/": "trame / trame-slicer",
    "https://kitware.github.io/paraview-glance/app/": "ParaView Glance",
    "https://volview.kitware.com/": "VolView",
    "http://slicedrop.com/": "SliceDrop",
    "https://ohif.org/": "OHIF",
    "https://github.com/cornerstonejs/cornerstone3D": "Cornerstone",
    "https://github.com/InsightSoftwareConsortium/itk-wasm": "itk-wasm / itk-vtk-viewer",
    "https://github.com/niivue/niivue": "Niivue / Papaya",
    "https://jetstream-cloud.org/": "Jetstream",
    "https://azure.microsoft.com/en-us/products/virtual-machines": "Azure",
    "https://cloud.google.com/healthcare-api": "Google Cloud",
    "https://aws.amazon.com/ec2/": "AWS",
    "https://s3.amazonaws.com/bucket/file": "AWS",
    "https://imaging.datacommons.cancer.gov/": "Imaging Data Commons",
    "https://kubernetes.io/docs/": "Kubernetes / Docker",
}


def test_the_bundled_catalog_is_valid_and_every_entry_claims_its_example():
    catalog = load_catalog()
    raw = yaml.safe_load(resources.files("slicer_cloud.survey").joinpath("data/catalog.yaml").read_text())
    assert set(raw["approaches"]) == set(KNOWN_APPROACHES)
    for name, entry in raw["technologies"].items():
        assert entry["approach"] in KNOWN_APPROACHES, name
        assert entry.get("description"), f"{name} has no description"
        assert entry["patterns"], name
        for pattern in entry["patterns"]:
            re.compile(pattern)
    names = {t.name for t in catalog.technologies}
    assert names == set(raw["technologies"])
    assert names == set(EXAMPLES.values()), "every catalog entry needs an example here (and only those)"
    for url, name in EXAMPLES.items():
        tech = catalog.classify(clean(url))
        assert tech is not None and tech.name == name, (url, tech)


def test_unrelated_links_are_not_claimed():
    catalog = load_catalog()
    for url in (
        "https://download.slicer.org",
        "https://github.com/Slicer/ExtensionsIndex",
        "https://example.org/web",
        "https://www.google.com/search?q=slicer+cloud",
        "https://discourse.slicer.org/t/remote/12",
    ):
        assert catalog.classify(clean(url)) is None, url


def test_the_bundled_rules_load_and_end_with_a_default():
    rules = load_rules()
    assert rules[-1].action == "drop" and not (rules[-1].text or rules[-1].title or rules[-1].catalog)
    assert len({r.name for r in rules}) == len(rules)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("technologies: [1, 2]", "must be a mapping"),
        ("technologies:\n  X:\n    approach: web-ui\n", "has no URL patterns"),
        ("technologies:\n  X:\n    approach: web-ui\n    patterns: ['(unclosed']\n", "not a valid regular expression"),
        ("approaches:\n  teleport: {title: T}\n", "approach 'teleport' is not one of"),
        ("technologies: {X: {approach: web-ui, patterns: [a]}\n", "not valid YAML"),
    ],
)
def test_a_bad_catalog_file_is_refused_with_what_to_fix(tmp_path, text, message):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(SurveyDataError, match=re.escape(message)) as caught:
        load_catalog([path])
    assert str(path) in caught.value.message


def test_a_user_catalog_adds_and_replaces_entries(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "technologies:\n"
        "  Orthanc:\n    approach: headless-node\n    description: DICOM server\n"
        "    patterns: ['orthanc-server\\.com']\n"
        "  AWS:\n    approach: cloud-provider\n    description: only EC2\n    patterns: ['aws\\.amazon\\.com/ec2']\n"
    )
    catalog = load_catalog([path])
    assert catalog.classify(clean("https://www.orthanc-server.com/")).name == "Orthanc"
    assert catalog.classify(clean("https://aws.amazon.com/ec2/")).description == "only EC2"
    assert catalog.classify(clean("https://aws.amazon.com/s3/")) is None


def test_a_bad_rules_file_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: r\n    action: keep\n    wording: ['x']\n")
    with pytest.raises(SurveyDataError, match="unknown keys"):
        load_rules(path)
    path.write_text("rules:\n  - name: r\n    action: maybe\n")
    with pytest.raises(SurveyDataError, match="action must be"):
        load_rules(path)


def test_rules_are_tried_in_order_and_conditions_combine(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - {name: support-gpu, action: keep, categories: [Support], text: ['\\bgpu\\b']}\n"
        "  - {name: tagged, action: keep, tags: [cloud]}\n"
        "  - {name: rest, action: drop}\n"
    )
    rules, catalog, none = load_rules(path), load_catalog(), Overrides()
    gpu = Topic(1, title="GPU", category="support")
    assert decide(gpu, rules, catalog, none).rule == "support-gpu"
    gpu.category = "Development"
    assert decide(gpu, rules, catalog, none).rule == "rest"
    assert decide(Topic(2, title="x", tags=["Cloud"]), rules, catalog, none).keep
    cited = Topic(3, title="x", links=[TopicLink("https://novnc.com")])
    assert decide(cited, load_rules(), catalog, none).rule == "cites-remote-technology"


def test_overrides_files(tmp_path):
    path = tmp_path / "o.yaml"
    assert load_overrides(path) == Overrides()
    path.write_text("include: [1, '2']\nexclude: [3]\n")
    assert (load_overrides(path).include, load_overrides(path).exclude) == ({1, 2}, {3})
    path.write_text("include: [1]\nexclude: [1]\n")
    with pytest.raises(SurveyDataError, match="both included and excluded"):
        load_overrides(path)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://github.com/Pieper/SlicerDockers/tree/master/x", "github.com/pieper/slicerdockers"),
        ("http://www.github.com/pieper/slicerdockers.git", "github.com/pieper/slicerdockers"),
        ("https://raw.githubusercontent.com/pieper/SlicerDockers/master/a.sh", "github.com/pieper/slicerdockers"),
        ("https://kitware.github.io/vtk-js/examples/a.html", "kitware.github.io/vtk-js"),
        ("https://slicer.readthedocs.io/en/latest/user_guide/a.html", "slicer.readthedocs.io/user_guide/a.html"),
        ("https://slicer.readthedocs.io/en/5.6/user_guide/a.html#x", "slicer.readthedocs.io/user_guide/a.html"),
        ("https://youtu.be/abc123", "youtube.com/watch?v=abc123"),
        ("https://www.youtube.com/watch?v=abc123&t=10s", "youtube.com/watch?v=abc123"),
        ("https://Example.org/a/index.html?utm_source=x&b=2&a=1", "example.org/a?a=1&b=2"),
        ("https://example.org:8443/a/", "example.org:8443/a"),
    ],
)
def test_normalise_counts_one_repository_or_page_once(url, normalised):
    assert normalise(url) == normalised


def test_links_that_are_not_web_pages_are_left_out():
    for url in ("mailto:a@b.org", "/t/topic/5", "ftp://x.org/a", "javascript:alert(1)", "http://[::1", ""):
        assert clean(url) is None and normalise(url) is None
    assert not is_external("https://discourse.slicer.org/t/x/1", "discourse.slicer.org")
    assert not is_external("https://www.discourse.slicer.org/u/a", "discourse.slicer.org")
    assert is_external("https://slicer.org", "discourse.slicer.org")


def test_post_html_gives_text_links_and_balance():
    good = extract('<p>Run <b>Slicer</b> remotely: <a href="https://novnc.com">noVNC</a><br>next</p><p>two')
    assert good.well_formed and good.links == ["https://novnc.com"]
    assert good.text == "Run Slicer remotely: noVNC\nnext\ntwo"
    bad = extract('<p>VNC <b>black</div> screen <a href="https://x.org">x</a><table><tr><td>cell</p>')
    assert not bad.well_formed and bad.links == ["https://x.org"] and "black screen" in bad.text
    assert not extract("<div><span>open").well_formed
    onebox = extract('<p>see</p><aside class="onebox"><p>remote desktop docker</p></aside>')
    assert onebox.text == "see"  # previews of linked pages are not the author's words
    assert extract("<<<>>>&&&\x00<a href=").text is not None


def test_the_rate_limiter_spaces_requests_across_threads():
    limiter = RateLimiter(20.0)  # 50 ms apart
    starts: list[float] = []

    def go() -> None:
        for _ in range(3):
            limiter.wait()
            starts.append(time.monotonic())

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 9 and starts[-1] - starts[0] >= 8 * 0.05 - 0.005


def test_topic_json_of_the_wrong_shape_is_malformed_and_junk_entries_are_skipped():
    for data in ([], {"post_stream": []}, {"post_stream": {"posts": "x"}}, None, "text"):
        with pytest.raises(MalformedTopic):
            fill_topic(Topic(1), data, "https://f.org", {})
    topic = Topic(2)
    odd = {
        "title": None,
        "category_id": "9",
        "tags": [{"name": "cloud"}, 5, "remote"],
        "post_stream": {"posts": [7, {"cooked": None}, {"cooked": "<p>ok <a href='https://x.org'>x</a></p>"}]},
        "details": {
            "links": [
                None,
                {"url": 5},
                {"url": "https://novnc.com", "clicks": "12"},
                {"url": "https://y.org", "clicks": -3},
                {"url": "https://z.org", "internal": True},
            ]
        },
    }
    fill_topic(topic, odd, "https://f.org", {9: "nine"})
    assert [(link.url, link.clicks) for link in topic.links] == [("https://novnc.com", 12), ("https://y.org", 0)]
    assert topic.tags == ["cloud", "remote"] and topic.category == "" and topic.malformed_html == 1
