"""The field catalogue is the one declaration of what an entry field is: it covers what the
API sends, each label names one field, and the console's reads and writes follow it."""

from __future__ import annotations

import re

from app.cloudcruise import fields as catalogue
from app.cloudcruise.fields import Clear
from app.entries.edit_forms import SECTIONS
from app.sandbox import validation as sandbox_rules
from app.services.entry_updates import removals
from tests.entries_support import (
    csrf,
    fetch,
    hx,
    make_entry,
    save_section,
    section_form,
)


def test_the_catalogue_knows_every_field_the_emulator_accepts_or_computes():
    api_fields = set(sandbox_rules.WRITABLE) | set(sandbox_rules.IGNORED_FIELDS)
    assert api_fields - set(catalogue.FIELDS) == set()


def test_each_label_names_one_field_and_each_section_form_edits_its_own_fields():
    labels = [f.label for f in catalogue.CATALOGUE]
    assert len(labels) == len(set(labels))
    for key, form in SECTIONS.items():
        for name in form.FIELDS:
            spec = catalogue.FIELDS[name]
            # the Secret provider editor also holds the credentials it replaces
            assert spec.section == key or (key == "provider" and spec.section == "credentials")
            assert spec.writable


def test_null_is_sent_only_where_the_api_documents_it():
    """Removals: null for max_concurrency and the two expiry intervals only; text fields
    are emptied, flags turned off, a proxy value left out; everything else is refused."""
    sent_null = set()
    for spec in catalogue.CATALOGUE:
        if not spec.writable or spec.blob:
            continue
        body, problems = removals({spec.name: None})
        if spec.name in body and body[spec.name] is None:
            sent_null.add(spec.name)
        if spec.clear is Clear.NEVER:
            assert problems.get(spec.name) and spec.name not in body
        elif spec.clear is Clear.EMPTY:
            assert body == {spec.name: ""}
        elif spec.clear is Clear.FALSE:
            assert body == {spec.name: False}
        elif spec.clear is Clear.OMIT:
            assert body == {} and problems == {}
    assert sent_null == {
        "max_concurrency",
        "expiry_time_from_last_use",
        "expiry_time_from_session_data_set",
    }


def test_clearing_sends_what_the_docs_allow(editor, sandbox, recorder):
    entry = make_entry(
        sandbox, allow_multiple_sessions=True, max_concurrency=3,
        expiry_time_from_last_use="01:00:00", cookie_domain_to_store=".example.com",
    )  # fmt: skip
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    data["max_concurrency"] = ""
    assert save_section(editor, entry.id, "concurrency", data, token).status_code == 200
    assert recorder.writes("PUT")[-1]["json"]["max_concurrency"] is None
    data = section_form(editor, entry.id, "session")
    data.update(expiry_time_from_last_use="", cookie_domain_to_store="")
    assert save_section(editor, entry.id, "session", data, token).status_code == 200
    sent = recorder.writes("PUT")[-1]["json"]
    assert sent["expiry_time_from_last_use"] is None and sent["cookie_domain_to_store"] == ""
    data = section_form(editor, entry.id, "credentials")
    data["user_alias"] = ""
    assert save_section(editor, entry.id, "credentials", data, token).status_code == 200
    assert recorder.writes("PUT")[-1]["json"]["user_alias"] == ""
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.max_concurrency is None and stored.expiry_time_from_last_use is None
    assert not stored.user_alias and not stored.cookie_domain_to_store


def test_turning_a_proxy_off_is_refused_with_the_reason_and_nothing_sent(editor, sandbox, recorder):
    entry = make_entry(sandbox, proxy_setting="country", proxy_value="DE")
    token = csrf(editor)
    page = hx(editor, "GET", f"/entries/{entry.id}/sections/proxy/edit").get_data(as_text=True)
    assert 'value="none"' not in page  # not offered once a mode is set
    data = dict(section_form(editor, entry.id, "proxy"), proxy_setting="none", proxy_value="")
    refused = save_section(editor, entry.id, "proxy", data, token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and recorder.writes("PUT") == []
    assert re.search(r'id="proxy_setting-error">[^<]*no documented way to turn a proxy off', html)
    data.update(proxy_setting="random")
    assert save_section(editor, entry.id, "proxy", data, token).status_code == 200
    sent = recorder.writes("PUT")[-1]["json"]
    assert sent["proxy_setting"] == "random" and "proxy_value" not in sent


def test_detail_labels_the_legacy_target_ip_and_the_assigned_proxy(editor, sandbox):
    legacy = make_entry(sandbox, ip_address="198.51.100.7", proxy_setting="random")
    html = editor.get(f"/entries/{legacy.id}").get_data(as_text=True)
    proxy = html[html.index('id="section-proxy"') : html.index('id="section-provider"')]
    assert re.search(r"Legacy target IP <span class=\"badge badge-amber\">deprecated</span>", proxy)
    assert 'id="copy-ip-address" class="mono copy-source">198.51.100.7<' in proxy
    assigned = re.search(r'id="copy-proxy-string" class="mono copy-source">([^<]+)<', proxy)[1]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+:\d+", assigned)
    plain = make_entry(sandbox, proxy_setting="random")
    assert "Legacy target IP" not in editor.get(f"/entries/{plain.id}").get_data(as_text=True)


def test_conflict_panel_and_toasts_speak_in_labels_and_formatted_values(editor, sandbox):
    entry = make_entry(sandbox, expiry_time_from_last_use="7 days")
    token = csrf(editor)
    data = section_form(editor, entry.id, "session")
    data["expiry_time_from_last_use"] = "01:30:00"
    saved = save_section(editor, entry.id, "session", data, token)
    assert "Saved session persistence: Expire after last use." in saved.headers["HX-Trigger"]
    stale = dict(data, expiry_time_from_last_use="2 days")  # the updated_at seen before
    conflict = save_section(editor, entry.id, "session", stale, token).get_data(as_text=True)
    assert re.search(r"<td>Expire after last use</td>\s*<td>1 h 30 min</td>\s*<td>2 d</td>",
                     conflict), conflict[conflict.find("conflict-table"):][:800]  # fmt: skip
    assert "expiry_time_from_last_use</td>" not in conflict


def test_every_plain_field_of_a_section_can_be_edited_there(editor, sandbox):
    """A section's editor offers every writable plain field of that section: the ones it
    builds by hand and, for the rest, inputs generated from the catalogue."""
    entry = make_entry(sandbox)
    for section in SECTIONS:
        html = hx(editor, "GET", f"/entries/{entry.id}/sections/{section}/edit").get_data(True)
        for spec in catalogue.generated(section, ()):
            assert f'name="{spec.name}"' in html, (section, spec.name)


def test_a_generated_input_checks_sends_and_clears_its_field(editor, sandbox, recorder):
    """The legacy target IP has no hand-built input: the Proxy editor's generated one."""
    entry = make_entry(sandbox, proxy_setting="random")
    token = csrf(editor)
    data = section_form(editor, entry.id, "proxy")
    refused = save_section(editor, entry.id, "proxy", dict(data, ip_address="1.2.3"), token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and recorder.writes("PUT") == []
    assert re.search(r'id="ip_address-error">Enter an IP address', html)
    assert 'value="1.2.3"' in html  # what was typed stays
    saved = save_section(editor, entry.id, "proxy", dict(data, ip_address="198.51.100.9"), token)
    assert "Saved proxy: Legacy target IP." in saved.headers["HX-Trigger"]
    assert recorder.writes("PUT")[-1]["json"]["ip_address"] == "198.51.100.9"
    assert "deprecated</span>" in saved.get_data(as_text=True)  # shown now that it is set
    data = section_form(editor, entry.id, "proxy")
    assert (
        save_section(editor, entry.id, "proxy", dict(data, ip_address=""), token).status_code == 200
    )
    assert recorder.writes("PUT")[-1]["json"]["ip_address"] == ""
    assert not fetch(sandbox, entry.permissioned_user_id, entry.domain).ip_address
