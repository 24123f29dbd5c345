"""The stream keys of STREAMS.md: what the detector's state, the probe results and incidents are keyed by."""

from __future__ import annotations

from bot.engine.streams import Stream


def test_a_probe_of_one_model_keeps_its_name_as_key() -> None:
    stream = Stream.probe_model("api", "claude-haiku-4-5")
    assert (stream.key, stream.source, stream.model, stream.probe) == ("api", "probe", "claude-haiku-4-5", "api")
    assert stream.label == "Probe api"
    assert Stream.probe_model("web", None).key == "web"


def test_a_probe_of_several_models_has_one_stream_per_model() -> None:
    stream = Stream.probe_model("api", "claude-opus-4-5", several=True)
    assert (stream.key, stream.model, stream.probe) == ("api:claude-opus-4-5", "claude-opus-4-5", "api")
    assert stream.label == "Probe api on claude-opus-4-5"


def test_traffic_and_alert_streams() -> None:
    traffic = Stream.traffic("checkout", "claude-opus-4-5")
    assert (traffic.key, traffic.source, traffic.model, traffic.probe) == (
        "traffic:checkout:claude-opus-4-5",
        "traffic",
        "claude-opus-4-5",
        None,
    )
    assert traffic.label == "Traffic from checkout on claude-opus-4-5"
    alert = Stream.alert("High:Errors", "claude-sonnet-4-6")
    assert (alert.key, alert.source, alert.model) == (
        "alert:High:Errors:claude-sonnet-4-6",
        "alertmanager",
        "claude-sonnet-4-6",
    )
    assert alert.label == "Alert High:Errors on claude-sonnet-4-6"
    assert Stream.alert("Down", None).key == "alert:Down" and Stream.alert("Down", None).label == "Alert Down"
