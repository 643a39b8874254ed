"""The subject of one running instance of a service: what its container's probe asks."""

import socket

from cchc.contracts.subjects import instance_subject, is_token, this_instance


def test_an_instance_is_named_by_its_setting_else_its_host_as_one_subject_token(monkeypatch):
    monkeypatch.setenv("CCHC_INSTANCE", "dossier-7f9c4.cluster local>*")
    assert this_instance() == "dossier-7f9c4_cluster_local__"
    monkeypatch.delenv("CCHC_INSTANCE")
    assert is_token(this_instance())
    host = socket.gethostname()
    if host and all(c.isalnum() or c in "-_." for c in host):  # a usual host name
        assert this_instance() == host.replace(".", "_")[:64]


def test_the_instance_subject_is_under_the_service_endpoint():
    assert instance_subject("dossier", "health", "pod-a") == "svc.dossier.health.pod-a"
