"""Issue normalization quirks, each shown on the real file SOURCES.md names for it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gateway.jira.dto import UNDEFINED_CATEGORY
from gateway.jira.parse_activity import parse_changelog_page, parse_comment_page
from gateway.jira.parse_custom import parse_custom_value, parse_sprint_string
from gateway.jira.parse_issue import parse_issue, parse_search_page
from gateway.jira.parse_meta import parse_field_defs, parse_status, parse_version

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
EP = "/rest/api/3/issue/{key}"


def load(rel: str) -> Any:
    return json.loads((CONTRACT / rel).read_text(encoding="utf-8"))


def example(operation: str, spec: str = "platform-v3") -> Any:
    entries = load(f"rest/atlassian-openapi-examples/{spec}.examples.json")
    return next(e["example"] for e in entries if e["operationId"] == operation)


def test_cloud_v3_issue_absorbs_nulls_empties_and_custom_field_forms() -> None:
    issue = parse_issue(load("rest/go-atlassian/v3/get-issue.json"), endpoint=EP)
    assert (issue.id, issue.key) == ("10032", "KP-19")
    assert issue.browse_url == "https://ctreminiom.atlassian.net/browse/KP-19"
    # Present-but-null: None, yet known to have been requested.
    assert issue.assignee is None
    assert issue.resolution is None
    assert {"assignee", "resolution", "duedate"} <= issue.fields_present
    assert issue.time_tracking is None  # "timetracking": {}
    assert issue.work_ratio is None  # "workratio": -1
    assert issue.comments is not None
    assert (issue.comments.total, issue.comments.truncated) == (1, False)
    # Numeric statusCategory.id becomes a string like every other id.
    assert issue.status is not None
    assert issue.status.category.id == "2"
    assert issue.status.category.key == "new"
    # v3 rich text is ADF, kept raw for the markup package.
    assert issue.description is not None
    assert issue.description.adf is not None
    assert issue.description.adf["type"] == "doc"
    assert issue.description.wiki is None
    assert issue.created == datetime(2021, 5, 8, 6, 4, 25, 376000, tzinfo=UTC)
    custom = issue.custom_fields
    assert custom["customfield_10019"].value == "0|i00073:"  # LexoRank stays a string
    assert custom["customfield_10000"].value is None  # dev-summary "{}"
    assert custom["customfield_10000"].text is None
    parent_link = custom["customfield_10018"]
    assert parent_link.value is None
    assert (
        parent_link.unavailable_reason == "The Parent Link is only available to Jira Premium users."
    )
    assert custom["customfield_10038"].value == "App 3"  # option -> its value
    assert custom["customfield_10014"].value == "KP-16"
    assert custom["customfield_10026"].value == []
    assert custom["customfield_10032"].value is None
    # Without /field or expand=names the id is all we can call it.
    assert custom["customfield_10038"].name == "customfield_10038"


def test_field_list_names_and_types_custom_fields() -> None:
    defs = parse_field_defs(
        load("rest/go-atlassian/v3/get-fields.json"), endpoint="/rest/api/3/field"
    )
    assert defs["customfield_10019"].name == "Rank"
    issue = parse_issue(load("rest/go-atlassian/v3/get-issue.json"), endpoint=EP, field_defs=defs)
    rank = issue.custom_fields["customfield_10019"]
    assert rank.name == "Rank"
    assert rank.custom_type == "com.pyxis.greenhopper.jira:gh-lexo-rank"
    app = issue.custom_fields["customfield_10038"]
    assert (app.name, app.type) == ("Application Name", "option")
    assert defs["issuetype"].custom is False


def test_server_issue_with_names_schema_links_comments_and_worklog() -> None:
    raw = load("rest/server-jrjc/issue/valid-5.0.json")
    issue = parse_issue(raw, endpoint="/rest/api/2/issue/{key}")
    number = issue.custom_fields["customfield_10000"]
    assert number.name == raw["names"]["customfield_10000"] == "My Number Field New"
    assert number.custom_type == "com.atlassian.jira.plugin.system.customfieldtypes:float"
    assert (number.value, number.text) == (1.457, "1.457")
    # An option without an id (JIRA 5.0) still yields its value.
    assert issue.custom_fields["customfield_10001"].value == "Another"
    assert issue.duedate == date(2010, 7, 5)
    assert issue.description is not None
    assert issue.description.wiki == "my description"
    assert issue.comments is not None
    assert issue.comments.total == len(issue.comments.items) == 3
    assert not issue.comments.truncated
    assert issue.worklog_total == 2
    assert issue.time_tracking is not None
    assert issue.time_tracking.time_spent_seconds == 10800
    [link] = issue.links
    assert (link.direction, link.type_name, link.inward) == (
        "inward",
        "Duplicate",
        "is duplicated by",
    )
    assert link.other.key == "MUT-19"
    assert link.other.status is not None
    # Pre-6.1 statuses have no category: JIRA's own "undefined" stands in.
    assert link.other.status.category == UNDEFINED_CATEGORY
    assert [a.filename for a in issue.attachments][:1] == ["dla Paw?a.txt"]
    assert issue.attachments[0].size == 643
    # JIRA 5.0's placeholder "changelog": "TODO" is ignored, not fatal.
    assert raw["changelog"] == "TODO"
    assert issue.changelog is None
    assert issue.browse_url == "http://localhost:2990/jira/browse/TST-1"


def test_rendered_fields_give_html_and_dates_stay_machine_dates() -> None:
    raw = load("rest/server-jrjc/issue/valid-all-expanded.json")
    issue = parse_issue(raw, endpoint="/rest/api/2/issue/{key}")
    assert issue.description is not None
    assert issue.description.wiki == raw["fields"]["description"]
    assert issue.description.rendered_html == raw["renderedFields"]["description"]
    # renderedFields.created is "26/lip/10 1:29 PM": the DTO's date comes from fields.
    assert raw["renderedFields"]["created"] == "26/lip/10 1:29 PM"
    assert issue.created == datetime(2010, 7, 26, 11, 29, 18, 262000, tzinfo=UTC)


def test_fields_not_requested_stay_absent() -> None:
    body = load("webhooks/zulip/attachment_created.json")
    issue = parse_issue(body["issue"], endpoint="webhook")
    assert issue.fields_present == frozenset({"summary"})
    assert (issue.summary, issue.comments, issue.changelog, issue.status) == (
        body["issue"]["fields"]["summary"],
        None,
        None,
        None,
    )
    assert issue.labels == ()
    assert issue.custom_fields == {}


def test_embedded_worklog_page_is_truncated_and_says_so() -> None:
    wrapped = load("rest/atlassian-python-api/rest/api/2/issue/FOO-123/GET.json")
    raw = wrapped["entries"][0]["response"]
    assert raw["fields"]["worklog"]["worklogs"] == []
    issue = parse_issue(raw, endpoint="/rest/api/2/issue/{key}")
    assert issue.worklog_total == 3257


def test_legacy_sprint_strings_from_a_cloud_webhook() -> None:
    body = load("webhooks/mattermost-plugin-jira/webhook-cloud-issue-created-many-fields.json")
    issue = parse_issue(body["issue"], endpoint="webhook")
    sprint = issue.custom_fields["customfield_10021"]
    assert sprint.value == [
        {
            "id": 1,
            "rapidViewId": 2,
            "state": "ACTIVE",
            "name": "SCRUM1 Sprint 1",
            "goal": "",
            "startDate": "2019-05-23T14:02:10.170Z",
            "endDate": "2019-06-06T14:02:00.000Z",
            "completeDate": None,
            "sequence": 1,
        }
    ]
    assert sprint.text == "SCRUM1 Sprint 1"
    # Webhook rich text is wiki markup even on Cloud.
    assert issue.description is None or issue.description.adf is None


def test_sprint_string_with_commas_in_the_name() -> None:
    text = (
        "com.atlassian.greenhopper.service.sprint.Sprint@a88a698[id=1,rapidViewId=1,state=ACTIVE,"
        "name=Sprint 2, the sequel,startDate=<null>,goal=<null>]"
    )
    parsed = parse_sprint_string(text)
    assert parsed is not None
    assert parsed["name"] == "Sprint 2, the sequel"
    assert parsed["goal"] is None
    assert parse_sprint_string("0|i000b3:") is None


def test_option_arrays_cascading_options_and_string_arrays() -> None:
    fields = load("webhooks/jira-trigger-plugin/multi_value_custom_field.json")["issue"]["fields"]
    cascade = parse_custom_value("customfield_10106", fields["customfield_10106"], None)
    assert cascade.value == ["cascade option 1", "child 1 1"]
    assert cascade.text == "cascade option 1 - child 1 1"
    multi = parse_custom_value("customfield_10100", fields["customfield_10100"], None)
    assert multi.value == ["checkbox option 1", "checkbox option 2"]
    assert multi.text == "checkbox option 1, checkbox option 2"
    labels = parse_custom_value("customfield_10103", fields["customfield_10103"], None)
    assert labels.value == ["label", "labela", "labelb"]


def test_user_custom_fields_become_ids_and_display_names() -> None:
    raw = load("rest/server-jrjc/issue/valid-user-picker-custom-field-filled-out.json")
    issue = parse_issue(raw, endpoint="/rest/api/2/issue/{key}")
    picked = issue.custom_fields["customfield_10020"]
    assert picked.name == "Extra User"
    assert picked.type == "user"
    user = raw["fields"]["customfield_10020"]
    assert picked.value == {"id": "wseliga", "displayName": user["displayName"]}
    assert picked.text == user["displayName"]
    many = parse_custom_value("customfield_1", [user, user], None)
    assert many.value == [picked.value, picked.value]
    empty = parse_issue(
        load("rest/server-jrjc/issue/valid-user-picker-custom-field-empty.json"),
        endpoint="/rest/api/2/issue/{key}",
    )
    assert empty.custom_fields["customfield_10020"].value is None


def test_numeric_ids_are_strings_and_ids_fall_back_to_self() -> None:
    version = parse_version(load("rest/server-jrjc/version/valid.json"), endpoint="v")
    assert version.id == "10000"
    assert version.release_date is not None
    no_id = parse_version(load("rest/server-jrjc/version/valid-no-id.json"), endpoint="v")
    assert no_id.id == "10000"  # from ".../version/10000"
    status = parse_status(load("rest/jira-ruby/status/1.json"), endpoint="s")
    assert isinstance(status.id, str)


def test_search_page_styles() -> None:
    classic = parse_search_page(load("rest/server-jrjc/search/many-issues.json"), endpoint="s")
    assert (classic.start_at, classic.max_results, classic.total) == (0, 8, 15)
    assert len(classic.items) == 8
    assert classic.truncated
    assert classic.next_page_token is None
    # Page-level names/schema name the custom fields of every issue.
    named = [
        cf.name
        for issue in classic.items
        for cf in issue.custom_fields.values()
        if cf.name != cf.id
    ]
    assert named

    jql = example("searchAndReconsileIssuesUsingJql")
    page = parse_search_page(jql, endpoint="/rest/api/3/search/jql")
    assert page.total is None
    assert page.is_last
    assert len(page.items) == len(jql["issues"])
    more = parse_search_page({**jql, "isLast": False, "nextPageToken": "tok"}, endpoint="x")
    assert (more.next_page_token, more.truncated, more.total) == ("tok", True, None)
    no_flag = parse_search_page({"issues": [], "nextPageToken": "t2"}, endpoint="x")
    assert (no_flag.is_last, no_flag.next_page_token) == (False, "t2")


def test_changelog_pages_embedded_and_cloud_values() -> None:
    raw = load("rest/server-jrjc/issue/valid-5.0-with-changelog.json")
    issue = parse_issue(raw, endpoint="/rest/api/2/issue/{key}")
    assert issue.changelog is not None
    assert issue.changelog.total == len(raw["changelog"]["histories"])
    first = issue.changelog.items[0]
    assert first.items[0].field == "duedate"
    assert (first.items[0].from_id, first.items[0].to_id) == (None, "2012-04-12")
    assert first.items[0].field_id is None  # Server changelogs have no fieldId

    cloud = parse_changelog_page(example("getChangeLogs"), endpoint="/changelog")
    assert (cloud.start_at, cloud.total, cloud.is_last) == (2, 5, False)
    assert any(item.field_id for entry in cloud.items for item in entry.items)


def test_comment_pages_and_bare_comment_lists() -> None:
    page = parse_comment_page(example("getComments"), endpoint="/comment")
    assert page.items
    assert page.items[0].body.adf is not None
    by_ids = parse_comment_page(example("getCommentsByIds"), endpoint="/comment/list")
    assert by_ids.is_last
    # Atlassian's getIssue example embeds fields.comment as a bare list.
    issue = parse_issue(example("getIssue"), endpoint=EP)
    assert issue.comments is not None
    assert issue.comments.total == len(issue.comments.items) >= 1
    # ...and its "sub-tasks" as link objects wrapping the subtask.
    assert [s.key for s in issue.subtasks] == ["ED-2"]
