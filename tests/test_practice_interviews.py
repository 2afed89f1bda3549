"""Mock interviews: the doc and clock they start, time per step counted on the server from the
step pages' events, pause and finish, the self-review and its score, and privacy."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from django.utils.html import escape

from apps.designdocs.models import Answer, DesignDoc, Prompt, Step
from apps.practice.models import HEARTBEAT_GAP, Attempt, Problem, merged_seconds

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST = "problem-clarification"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def problem():
    return Problem.objects.get(slug="ads-click-prediction")


@pytest.fixture
def attempt(alice, problem):
    with time_machine.travel(T0, tick=False):
        return Attempt.start(alice, problem, 45)


def step(slug: str = FIRST) -> Step:
    return Step.objects.get(slug=slug)


def visit(attempt, s: Step, start: float, end: float, tab: str = "tab-a") -> None:
    """A step page open from ``start`` to ``end`` seconds, beating every 15 s as the page does."""
    attempt.record("start", s, tab, at(start))
    moment = start
    while moment < end:
        moment = min(moment + 15, end)
        attempt.record("beat", s, tab, at(moment))


def event(client, attempt, kind, slug=FIRST, tab="tab-a"):
    return client.post(
        f"/practice/attempts/{attempt.pk}/events/", {"event": kind, "step": slug, "tab": tab}
    )


# --- Starting ----------------------------------------------------------------------------------


def test_starting_creates_a_doc_with_the_problem_and_lands_on_the_first_step(signed_in, alice):
    response = signed_in.post("/practice/problems/ads-click-prediction/start/", {"minutes": "35"})
    attempt = Attempt.objects.get(user=alice)
    assert response.status_code == 302
    assert response["Location"] == f"/docs/{attempt.doc_id}/steps/{FIRST}/"
    problem = attempt.problem
    assert attempt.doc.owner == alice and attempt.doc.title == problem.title
    assert attempt.doc.problem == problem.body.strip()
    assert attempt.minutes == 35 and attempt.rubric == problem.rubric
    assert attempt.rubric_html == problem.details_html["rubric"]


def test_pressing_start_twice_starts_one_interview(signed_in, alice):
    url = "/practice/problems/ads-click-prediction/start/"
    with time_machine.travel(T0, tick=False):
        first = signed_in.post(url, {"minutes": "45"})
    with time_machine.travel(at(0.3), tick=False):
        second = signed_in.post(url, {"minutes": "45"})
    attempt = Attempt.objects.get(user=alice)
    assert first["Location"] == second["Location"] == f"/docs/{attempt.doc_id}/steps/{FIRST}/"
    assert DesignDoc.objects.filter(owner=alice).count() == 1
    with time_machine.travel(at(60), tick=False):
        signed_in.post(url, {"minutes": "45"})  # a minute later: meant, a second interview
    assert Attempt.objects.filter(user=alice).count() == 2


def test_every_step_of_an_interview_shows_the_problem_and_its_scale(signed_in, alice, problem):
    response = signed_in.post(f"/practice/problems/{problem.slug}/start/", {"minutes": "45"})
    attempt = Attempt.objects.get(user=alice)
    first_paragraph = problem.body.strip().split("\n\n")[0]
    assert problem.scale and first_paragraph
    for s in Step.objects.all():
        page = signed_in.get(f"/docs/{attempt.doc_id}/steps/{s.slug}/").text
        block = page[page.index('<details class="doc-problem" open>') :]
        block = block[: block.index("</details>")]
        assert "<summary>The problem</summary>" in block, s.slug
        assert f"<p>{escape(first_paragraph)}</p>" in block, s.slug
        assert f"<strong>Scale:</strong> {escape(problem.scale)}</p>" in block, s.slug
    assert response["Location"].endswith(f"/steps/{FIRST}/")


def test_an_ordinary_doc_shows_no_scale_line(signed_in, alice):
    doc = DesignDoc.objects.create(owner=alice, title="Churn", problem="Who leaves next month?")
    page = signed_in.get(f"/docs/{doc.pk}/steps/{FIRST}/").text
    assert "<p>Who leaves next month?</p>" in page and "Scale:" not in page


@pytest.mark.parametrize("minutes", ["50", "", "forty"])
def test_a_length_other_than_35_45_or_60_is_explained_at_the_field(signed_in, alice, minutes):
    response = signed_in.post(
        "/practice/problems/ads-click-prediction/start/", {"minutes": minutes}
    )
    assert response.status_code == 400
    assert "Choose 35, 45 or 60 minutes." in response.text or "required" in response.text
    assert not Attempt.objects.filter(user=alice).exists()
    assert not DesignDoc.objects.filter(owner=alice).exists()


def test_starting_needs_an_account(client):
    response = client.post("/practice/problems/ads-click-prediction/start/", {"minutes": "45"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Attempt.objects.exists()


# --- The clock ---------------------------------------------------------------------------------


def test_budgets_share_the_interview_in_proportion_to_each_steps_minutes(attempt):
    steps = list(Step.objects.filter(optional=False))
    budgets = attempt.budgets(steps)
    assert sum(budgets.values()) == pytest.approx(45 * 60)
    weight = sum(s.minutes for s in steps)
    for s in steps:
        assert budgets[s.pk] == pytest.approx(45 * 60 * s.minutes / weight)


def test_overlapping_spans_count_once():
    spans = [(at(0), at(60)), (at(30), at(90)), (at(200), at(210)), (at(205), at(206))]
    assert merged_seconds(spans) == 100
    assert merged_seconds([]) == 0


def test_heartbeats_extend_the_open_span_and_a_long_gap_starts_a_new_one(attempt):
    s = step()
    visit(attempt, s, 0, 60)
    assert attempt.time_per_step()[s.pk] == 60
    # The laptop slept: the next beat comes 10 minutes later and opens a new span.
    gap = HEARTBEAT_GAP.total_seconds()
    attempt.record("beat", s, "tab-a", at(60 + gap + 600))
    attempt.record("beat", s, "tab-a", at(60 + gap + 615))
    assert attempt.time_per_step()[s.pk] == 75
    assert attempt.spans.count() == 2


def test_a_second_tab_on_the_same_step_does_not_count_twice(attempt):
    s = step()
    visit(attempt, s, 0, 120, tab="tab-a")
    visit(attempt, s, 30, 90, tab="tab-b")
    visit(attempt, s, 100, 150, tab="tab-b")
    assert attempt.time_per_step()[s.pk] == 150


def test_leaving_closes_the_span_and_coming_back_opens_another(attempt):
    s = step()
    attempt.record("start", s, "tab-a", at(0))
    attempt.record("beat", s, "tab-a", at(15))
    attempt.record("leave", s, "tab-a", at(20))
    attempt.record("start", s, "tab-a", at(40))  # within the gap, but it had left
    attempt.record("beat", s, "tab-a", at(50))
    assert attempt.time_per_step()[s.pk] == 30


def test_time_on_different_steps_is_kept_apart(attempt):
    visit(attempt, step(), 0, 100)
    attempt.record("leave", step(), "tab-a", at(100))
    attempt.record("start", step("evaluation"), "tab-a", at(100))
    attempt.record("beat", step("evaluation"), "tab-a", at(130))
    spent = attempt.time_per_step()
    assert spent[step().pk] == 100 and spent[step("evaluation").pk] == 30


def test_pausing_stops_both_clocks_and_resuming_starts_them_again(attempt):
    s = step()
    visit(attempt, s, 0, 60)
    attempt.pause(at(60))
    attempt.record("beat", s, "tab-a", at(75))  # ignored while paused
    assert attempt.remaining(at(600)) == 45 * 60 - 60
    attempt.resume(at(600))
    attempt.record("start", s, "tab-a", at(600))
    attempt.record("beat", s, "tab-a", at(630))
    assert attempt.time_per_step()[s.pk] == 90
    assert attempt.remaining(at(630)) == 45 * 60 - 90


def test_pausing_and_finishing_count_the_time_since_the_last_heartbeat(attempt):
    s, other = step(), step("evaluation")
    visit(attempt, s, 0, 60)
    attempt.pause(at(70))  # 10 s after the last beat, the page still open
    assert attempt.time_per_step()[s.pk] == 70
    attempt.resume(at(100))
    attempt.record("start", other, "tab-a", at(100))
    attempt.record("beat", other, "tab-a", at(115))
    attempt.finish(at(127))
    assert attempt.time_per_step() == {s.pk: 70, other.pk: 27}


def test_a_page_gone_quiet_long_ago_is_not_stretched_to_the_pause(attempt):
    s = step()
    visit(attempt, s, 0, 60)  # the laptop slept after this beat, no leave was sent
    attempt.pause(at(60 + HEARTBEAT_GAP.total_seconds() + 600))
    assert attempt.time_per_step()[s.pk] == 60


def test_the_clock_runs_out_and_goes_negative_without_finishing(attempt):
    clock = attempt.clock(step(), at(46 * 60))
    assert clock.left == -60 and clock.times_up
    assert not attempt.finished


def test_events_are_counted_on_the_server_clock_across_reloads_and_restarts(signed_in, attempt):
    with time_machine.travel(at(0), tick=False):
        first = event(signed_in, attempt, "start").json()
    with time_machine.travel(at(15), tick=False):
        event(signed_in, attempt, "beat")
    with time_machine.travel(at(20), tick=False):
        event(signed_in, attempt, "leave")  # reload: the old page leaves…
    with time_machine.travel(at(21), tick=False):
        event(signed_in, attempt, "start", tab="tab-after-reload")  # …and the new one starts
    with time_machine.travel(at(51), tick=False):
        body = event(signed_in, attempt, "beat", tab="tab-after-reload").json()
    budget = attempt.budgets(Step.objects.all())[step().pk]
    assert first == {"step_left": round(budget), "step_budget": round(budget),
                     "left": 45 * 60, "paused": False, "finished": False}  # fmt: skip
    assert body["step_left"] == round(budget - 50)
    assert body["left"] == 45 * 60 - 51


def test_a_soft_warning_at_the_steps_budget_and_times_up_at_zero(signed_in, attempt):
    url = f"/docs/{attempt.doc_id}/steps/{FIRST}/"
    template = Template("{% load practice %}{% interview_clock doc step %}")
    request = RequestFactory().get(url)
    request.user = attempt.user

    def clock_html(seconds: float) -> str:
        with time_machine.travel(at(seconds), tick=False):
            context = {"doc": attempt.doc, "step": step(), "request": request}
            return template.render(Context(context))

    assert "Over this step" not in clock_html(0)
    budget = attempt.budgets(Step.objects.all())[step().pk]
    visit(attempt, step(), 0, budget + 15)
    over = clock_html(budget + 15)
    assert "Over this step's budget" in over and "over-step" in over
    late = clock_html(45 * 60 + 1)
    assert "Time's up" in late and "times-up" in late
    assert 'data-clock="interview">−0:01<' in late


def test_the_clock_tag_shows_nothing_on_an_ordinary_doc_for_one_query(
    alice, django_assert_num_queries
):
    doc = DesignDoc.objects.create(owner=alice, title="Just a doc")
    first = step()
    with django_assert_num_queries(1):
        html = Template("{% load practice %}{% interview_clock doc step %}").render(
            Context({"doc": doc, "step": first, "request": RequestFactory().get("/")})
        )
    assert html.strip() == ""


def test_bad_events_are_a_400_with_a_json_error(signed_in, attempt):
    for data, field in [
        ({"event": "dance", "step": FIRST, "tab": "a"}, "event"),
        ({"event": "beat", "step": "no-such-step", "tab": "a"}, "step"),
        ({"event": "beat", "step": FIRST, "tab": ""}, "tab"),
        ({"event": "beat", "step": FIRST, "tab": "x" * 41}, "tab"),
        ({"event": "beat", "step": FIRST, "tab": "<script>"}, "tab"),
        ({"event": "beat", "step": FIRST, "tab": "x" * 40 + "\n"}, "tab"),  # 41 characters
        ({"event": "beat", "step": "\x00", "tab": "a"}, "step"),  # PostgreSQL refuses NUL
    ]:
        response = signed_in.post(f"/practice/attempts/{attempt.pk}/events/", data)
        assert response.status_code == 400, data
        assert response.json()["detail"][0]["loc"] == [field]
    assert attempt.spans.count() == 0


def test_events_after_finishing_count_nothing(signed_in, attempt):
    attempt.finish(at(10))
    with time_machine.travel(at(20), tick=False):
        body = event(signed_in, attempt, "start").json()
    assert body["finished"] is True and attempt.spans.count() == 0


def test_pause_resume_and_finish_by_plain_post(signed_in, attempt):
    url = f"/practice/attempts/{attempt.pk}"
    with time_machine.travel(at(60), tick=False):
        response = signed_in.post(f"{url}/pause/", {"step": FIRST})
    assert response["Location"] == f"/docs/{attempt.doc_id}/steps/{FIRST}/"
    attempt.refresh_from_db()
    assert attempt.paused
    with time_machine.travel(at(300), tick=False):
        signed_in.post(f"{url}/resume/", {"step": FIRST})
    attempt.refresh_from_db()
    assert not attempt.paused and attempt.paused_seconds == 240
    with time_machine.travel(at(400), tick=False):
        response = signed_in.post(f"{url}/finish/")
    assert response["Location"] == f"/practice/attempts/{attempt.pk}/"
    attempt.refresh_from_db()
    assert attempt.finished_at == at(400)
    assert attempt.elapsed(at(9999)) == 400 - 240


# --- The self-review ---------------------------------------------------------------------------


def test_rubric_scoring_counts_ticked_points_of_the_snapshot(attempt):
    total = sum(len(points) for points in attempt.rubric.values())
    assert attempt.score() == (0, total)
    attempt.set_ticks(["problem-clarification:0", "problem-clarification:2", "evaluation:0",
                       "evaluation:0"])  # fmt: skip
    assert attempt.score() == (3, total)
    assert attempt.percent == round(300 / total)
    with pytest.raises(ValueError, match="not a point"):
        attempt.set_ticks(["problem-clarification:99"])
    with pytest.raises(ValueError, match="not a point"):
        attempt.set_ticks(["deployment:0"])
    assert attempt.score() == (3, total), "a refused tick changes nothing"


def test_a_later_rubric_edit_does_not_change_an_attempts_score(attempt, problem):
    attempt.set_ticks(["evaluation:0"])
    problem.rubric = {"evaluation": ["Only one point now."]}
    problem.save()
    attempt.refresh_from_db()
    assert attempt.score()[0] == 1 and len(attempt.rubric["evaluation"]) > 1


def test_the_self_review_shows_answers_beside_rubric_points_and_saves_ticks(signed_in, attempt):
    prompt = Prompt.objects.filter(step__slug=FIRST).order_by("order").first()
    attempt.doc.save_answer(prompt, "Calibrated pCTR for the **auction**.", 0)
    attempt.finish(at(600))
    page = signed_in.get(f"/practice/attempts/{attempt.pk}/").text
    assert "Calibrated pCTR for the <strong>auction</strong>." in page
    assert attempt.rubric_html[FIRST][0] in page
    assert 'value="problem-clarification:0"' in page
    assert "<svg" in page and "Time per step against its budget" in page
    response = signed_in.post(
        f"/practice/attempts/{attempt.pk}/ticks/", {"tick": ["problem-clarification:0"]}
    )
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.ticks == {FIRST: [0]}
    page = signed_in.get(f"/practice/attempts/{attempt.pk}/").text
    assert 'value="problem-clarification:0" checked' in page
    assert f"<strong>1 of {attempt.score()[1]}</strong>" in page


def test_rubric_points_of_an_optional_step_can_be_ticked(signed_in, alice, problem):
    optional = Step.objects.filter(optional=True).first()
    problem.rubric = {FIRST: ["Names the goal."], optional.slug: ["Plans a rollback."]}
    problem.save()
    attempt = Attempt.start(alice, problem, 45)
    attempt.finish(timezone.now())
    page = signed_in.get(f"/practice/attempts/{attempt.pk}/").text
    assert "Plans a rollback." in page and f'value="{optional.slug}:0"' in page
    signed_in.post(
        f"/practice/attempts/{attempt.pk}/ticks/", {"tick": [f"{FIRST}:0", f"{optional.slug}:0"]}
    )
    attempt.refresh_from_db()
    assert attempt.score() == (2, 2) and attempt.percent == 100
    page = signed_in.get(f"/practice/attempts/{attempt.pk}/").text
    assert f'value="{optional.slug}:0" checked' in page and "<strong>2 of 2</strong>" in page


def test_ticks_by_htmx_answer_with_the_new_score_only(signed_in, attempt):
    attempt.finish(at(60))
    response = signed_in.post(
        f"/practice/attempts/{attempt.pk}/ticks/",
        {"tick": ["evaluation:0", "evaluation:1"]},
        headers={"HX-Request": "true"},
    )
    assert response.text.strip().startswith('<p id="score"')
    assert "<strong>2 of" in response.text


def test_a_wrong_tick_is_a_400_and_keeps_the_saved_ones(signed_in, attempt):
    attempt.set_ticks(["evaluation:0"])
    response = signed_in.post(f"/practice/attempts/{attempt.pk}/ticks/", {"tick": ["evaluation:x"]})
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["tick"]
    attempt.refresh_from_db()
    assert attempt.ticks == {"evaluation": [0]}


@pytest.mark.parametrize("index", ["²", "٣", "1" * 5000])
def test_a_tick_whose_index_is_no_plain_number_is_refused_by_name(signed_in, attempt, index):
    # isdigit() let these through to int(), whose own words ("invalid literal for int()", "4300
    # digits") were the message, or which read "٣" as point 3.
    tick = f"evaluation:{index}"
    response = signed_in.post(f"/practice/attempts/{attempt.pk}/ticks/", {"tick": [tick]})
    assert response.status_code == 400
    assert response.json()["detail"][0]["msg"] == (
        f"“{tick[:40]}” is not a point of this problem's rubric."
    )
    attempt.refresh_from_db()
    assert attempt.ticks == {}


def test_time_per_step_chart_marks_a_step_over_budget(signed_in, attempt):
    attempt.record("start", step(), "tab-a", at(0))
    attempt.record("beat", step(), "tab-a", at(30))
    attempt.spans.update(ended_at=at(3000))  # far beyond the step's share
    attempt.finish(at(3000))
    page = signed_in.get(f"/practice/attempts/{attempt.pk}/").text
    assert 'class="bar over"' in page


def test_the_attempts_page_lists_attempts_per_problem_over_time(signed_in, alice, problem):
    for day, ticks in [(1, ["evaluation:0"]), (2, ["evaluation:0", "evaluation:1"])]:
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            attempt = Attempt.start(alice, problem, 45)
            attempt.set_ticks(ticks)
            attempt.finish(T0 + timedelta(days=day, minutes=40))
    page = signed_in.get("/practice/attempts/").text
    assert page.count("/practice/attempts/") >= 2 and problem.title in page
    assert "03 Mar" in page and "04 Mar" in page
    assert "<svg" in page and f"Scores for {problem.title}" in page


# --- Privacy and methods -----------------------------------------------------------------------


def test_a_stranger_gets_404_on_every_attempt_url(client, bob, attempt):
    client.force_login(bob)
    base = f"/practice/attempts/{attempt.pk}"
    assert client.get(f"{base}/").status_code == 404
    for url in ["events/", "pause/", "resume/", "finish/", "ticks/"]:
        response = client.post(f"{base}/{url}", {"event": "beat", "step": FIRST, "tab": "t"})
        assert response.status_code == 404, url
    assert "ads-click" not in client.get("/practice/attempts/").text
    attempt.refresh_from_db()
    assert not attempt.paused and not attempt.finished and attempt.spans.count() == 0


def test_get_on_every_mutating_url_is_405(signed_in, attempt):
    base = f"/practice/attempts/{attempt.pk}"
    for url in [f"{base}/events/", f"{base}/pause/", f"{base}/resume/", f"{base}/finish/",
                f"{base}/ticks/", "/practice/problems/ads-click-prediction/start/"]:  # fmt: skip
        assert signed_in.get(url).status_code == 405, url


def test_attempt_pages_need_an_account(client, attempt):
    for url in ["/practice/attempts/", f"/practice/attempts/{attempt.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_deleting_the_doc_takes_its_attempt_with_it(attempt):
    Answer.objects.filter(doc=attempt.doc).delete()
    attempt.doc.delete()
    assert not Attempt.objects.filter(pk=attempt.pk).exists()


def test_pausing_with_a_step_no_slug_can_be_goes_back_to_the_attempt(signed_in, attempt):
    response = signed_in.post(f"/practice/attempts/{attempt.pk}/pause/", {"step": "\x00"})
    assert response.status_code == 302 and response["Location"] == attempt.get_absolute_url()
