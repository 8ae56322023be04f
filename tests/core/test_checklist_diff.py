from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shopper.core import checklist as core
from shopper.core.checklist import Checklist, Item, Section, Text
from shopper.core.checklist_diff import (
    ChangesDoNotApply,
    ChecklistRetitled,
    FeaturesChanged,
    FlagChanged,
    ItemAdded,
    ItemMoved,
    ItemRemoved,
    ItemReworded,
    ItemsReordered,
    PointsChanged,
    SectionAdded,
    SectionRemoved,
    SectionRetitled,
    SectionsReordered,
    Totals,
    apply,
    diff,
    section_totals,
    totals,
    words,
)

ROOT = Path(__file__).resolve().parents[2]
MODEST = settings(max_examples=200, deadline=None)

# ---- strategies: valid checklists and edited versions of them ----------------------------

ITEM_CODES = [f"Q-{n}" for n in range(14)]
SECTION_CODES = ["greet", "ask", "serve", "check", "farewell"]
# drawn from small pools: cheap to generate, and two versions often share a wording
TEXTS = [
    Text("客户走近窗口时起身"),
    Text("客户走近窗口时起身", "The teller stands as the customer comes"),
    Text("客户到达窗口前起身示意", "The teller stands up, 2m before"),
    Text("微笑，目光注视客户", "Smiles and looks at the customer"),
    Text("核对证件。ATM"),
    Text("柜员", "Teller"),
]
FEATURES = [(), ("atm",), ("atm", "vip_room"), ("queue_machine",)]
FLAGS = ["red_line", "na_allowed", "photo_required_on_fail", "video_observable"]
# items as whole bodies, one draw each (drawing field by field made the tests slow);
# any two bodies differ in several fields
BODIES = [
    Item(
        "?",
        TEXTS[n % 6],
        TEXTS[(n + 3) % 6],
        Decimal(n + 1) / 2,
        red_line=n % 5 == 0,
        na_allowed=n % 2 == 1,
        photo_required_on_fail=n % 3 == 0,
        features=FEATURES[n % 4],
        video_observable=n % 7 != 0,
    )
    for n in range(16)
]
texts = st.sampled_from(TEXTS)
points = st.integers(1, 1000).map(lambda tenths: Decimal(tenths) / 10)  # 0.1 to 100
features = st.sampled_from(FEATURES)
bodies = st.sampled_from(BODIES)


def item(draw, code: str) -> Item:
    return replace(draw(bodies), code=code)


@st.composite
def checklists(draw) -> Checklist:
    """A valid checklist whose codes come from small pools, so two of them share codes."""
    codes = draw(st.lists(st.sampled_from(ITEM_CODES), min_size=1, max_size=8, unique=True))
    most = min(4, len(codes))
    section_codes = draw(
        st.lists(st.sampled_from(SECTION_CODES), min_size=1, max_size=most, unique=True)
    )
    k = len(section_codes)
    cuts = draw(st.permutations(range(1, len(codes))))[: k - 1]
    bounds = [0, *sorted(cuts), len(codes)]
    sections = tuple(
        Section(code, draw(texts), tuple(item(draw, c) for c in codes[start:end]))
        for code, start, end in zip(section_codes, bounds, bounds[1:], strict=False)
    )
    return Checklist("demo", draw(texts), sections)


class Draft:
    """A checklist being edited by the strategy: [code, title, items] per section."""

    def __init__(self, checklist: Checklist):
        self.title = checklist.title
        self.sections = [[s.code, s.title, list(s.items)] for s in checklist.sections]
        self.fresh = 0

    def new_code(self, prefix: str) -> str:
        self.fresh += 1
        return f"{prefix}{self.fresh}"

    def checklist(self) -> Checklist:
        kept = [Section(code, title, tuple(i)) for code, title, i in self.sections if i]
        return Checklist("demo", self.title, tuple(kept))


def pick_section(draw, draft: Draft) -> list:
    return draw(st.sampled_from(draft.sections))


def pick_item(draw, draft: Draft) -> tuple[list[Item], int] | None:
    filled = [s[2] for s in draft.sections if s[2]]
    if not filled:
        return None
    section_items = draw(st.sampled_from(filled))
    return section_items, draw(st.integers(0, len(section_items) - 1))


def retitle(draw, draft):
    draft.title = draw(texts)


def add_item(draw, draft):
    section_items = pick_section(draw, draft)[2]
    position = draw(st.integers(0, len(section_items)))
    section_items.insert(position, item(draw, draft.new_code("NEW-")))


def remove_item(draw, draft):
    if found := pick_item(draw, draft):
        section_items, n = found
        section_items.pop(n)


def move_item(draw, draft):
    if found := pick_item(draw, draft):
        section_items, n = found
        target = pick_section(draw, draft)[2]
        target.insert(draw(st.integers(0, len(target))), section_items.pop(n))


def reorder_items(draw, draft):
    section = pick_section(draw, draft)
    section[2] = list(draw(st.permutations(section[2])))


def edit_item(draw, draft):
    if found := pick_item(draw, draft):
        section_items, n = found
        field = draw(st.sampled_from(["text", "guidance", "points", "features", *FLAGS]))
        value = {"text": texts, "guidance": texts, "points": points, "features": features}.get(
            field, st.booleans()
        )
        section_items[n] = replace(section_items[n], **{field: draw(value)})


def add_section(draw, draft):
    position = draw(st.integers(0, len(draft.sections)))
    new_items = [item(draw, draft.new_code("NEW-")) for _ in range(draw(st.integers(0, 2)))]
    draft.sections.insert(position, [draft.new_code("new_"), draw(texts), new_items])


def remove_section(draw, draft):
    draft.sections.remove(pick_section(draw, draft))


def retitle_section(draw, draft):
    pick_section(draw, draft)[1] = draw(texts)


def reorder_sections(draw, draft):
    draft.sections = list(draw(st.permutations(draft.sections)))


EDITS = [
    retitle,
    add_item,
    remove_item,
    move_item,
    reorder_items,
    edit_item,
    add_section,
    remove_section,
    retitle_section,
    reorder_sections,
]


@st.composite
def edited(draw, old: Checklist) -> Checklist:
    """A next version of `old`: a few edits of every kind head office makes."""
    draft = Draft(old)
    for edit in draw(st.lists(st.sampled_from(EDITS), max_size=6)):
        if draft.sections:
            edit(draw, draft)
    new = draft.checklist()
    if not new.sections:  # everything was removed: one new section with one new item
        only = item(draw, "NEW-0")
        new = replace(new, sections=(Section("new_0", draw(texts), (only,)),))
    return new


# a next version of one checklist, or two unrelated checklists sharing some codes
pairs = checklists().flatmap(lambda old: st.tuples(st.just(old), edited(old))) | st.tuples(
    checklists(), checklists()
)


# ---- properties --------------------------------------------------------------------------


@settings(MODEST, max_examples=50)
@given(pairs)
def test_the_strategies_make_valid_checklists(pair):
    for checklist in pair:
        assert core.parse(core.to_data(checklist)) == checklist


@MODEST
@given(checklists())
def test_a_version_has_no_changes_from_itself(checklist):
    assert diff(checklist, checklist) == ()


@MODEST
@given(pairs)
def test_applying_the_diff_to_the_old_version_gives_the_new_one_exactly(pair):
    old, new = pair
    rebuilt = apply(old, diff(old, new))
    assert rebuilt == new
    assert core.canonical_json(rebuilt) == core.canonical_json(new)


@MODEST
@given(pairs, st.randoms(use_true_random=False))
def test_the_changes_apply_in_any_order(pair, random):
    old, new = pair
    changes = list(diff(old, new))
    random.shuffle(changes)
    assert apply(old, changes) == new


@MODEST
@given(pairs)
def test_an_item_is_added_removed_or_moved_by_its_code_alone(pair):
    old, new = pair
    changes = diff(old, new)
    was = {i.code: s.code for s in old.sections for i in s.items}
    now = {i.code: s.code for s in new.sections for i in s.items}
    assert {c.item.code for c in changes if isinstance(c, ItemAdded)} == now.keys() - was.keys()
    assert {c.item.code for c in changes if isinstance(c, ItemRemoved)} == was.keys() - now.keys()
    assert {c.code for c in changes if isinstance(c, ItemMoved)} == {
        code for code in was.keys() & now.keys() if was[code] != now[code]
    }


GROUPS = {
    ChecklistRetitled: 0,
    SectionAdded: 1,
    SectionRemoved: 1,
    SectionRetitled: 1,
    SectionsReordered: 1,
    ItemRemoved: 3,
}


@MODEST
@given(pairs)
def test_the_checklist_comes_first_then_sections_then_items_then_removals(pair):
    groups = [GROUPS.get(type(change), 2) for change in diff(*pair)]
    assert groups == sorted(groups)


mixed_text = st.text(alphabet=st.sampled_from("ab c,.'’-\n客户柜员起身微笑1２"), max_size=30)


@MODEST
@given(st.one_of(st.text(), mixed_text), st.one_of(st.text(), mixed_text))
def test_words_give_back_both_texts(before, after):
    segments = words(before, after)
    assert "".join(text for kind, text in segments if kind != "ins") == before
    assert "".join(text for kind, text in segments if kind != "del") == after
    assert all(text for _, text in segments)
    assert all(a[0] != b[0] for a, b in zip(segments, segments[1:], strict=False))


@given(st.text(min_size=1))
def test_words_of_an_unchanged_text_are_one_same_segment(text):
    assert words(text, text) == (("same", text),)


# ---- examples ----------------------------------------------------------------------------


def demo(**edits) -> Checklist:
    """Two sections; `edits` replace fields of item D-01 (`points=3`, `text=Text(...)`)."""
    one = (
        Item("D-01", Text("客户走近窗口时起身", "The teller stands"), Text("乙"), Decimal(2)),
        Item("D-02", Text("丙"), Text("丁"), Decimal("1.5")),
        Item("D-03", Text("戊"), Text("己"), Decimal(1)),
    )
    two = (Item("D-04", Text("庚"), Text("辛"), Decimal(3)),)
    first = replace(one[0], **edits)
    return Checklist(
        "demo",
        Text("示例", "Demo"),
        (Section("one", Text("一"), (first, *one[1:])), Section("two", Text("二"), two)),
    )


def rebuilt(old: Checklist, sections: list[tuple[str, str, list[str]]]) -> Checklist:
    """`old`'s items regrouped: (section code, title zh, item codes) per section."""
    return replace(
        old,
        sections=tuple(
            Section(code, Text(title), tuple(old.item(c) for c in codes))
            for code, title, codes in sections
        ),
    )


def test_an_item_moved_to_another_section_is_one_move():
    old = demo()
    new = rebuilt(old, [("one", "一", ["D-01", "D-03"]), ("two", "二", ["D-02", "D-04"])])
    assert diff(old, new) == (ItemMoved("D-02", "one", "two", 0),)


def test_a_reworded_item_reports_the_field_and_its_changed_words():
    old = demo()
    new = demo(text=Text("客户到达窗口前起身", "The teller stands up"))
    (change,) = diff(old, new)
    assert change == ItemReworded("D-01", "text", old.item("D-01").text, new.item("D-01").text)
    assert words(change.before.zh, change.after.zh) == (
        ("same", "客户"),
        ("del", "走近"),
        ("ins", "到达"),
        ("same", "窗口"),
        ("del", "时"),
        ("ins", "前"),
        ("same", "起身"),
    )
    assert words(change.before.en, change.after.en) == (
        ("same", "The teller stands"),
        ("ins", " up"),
    )


def test_latin_text_is_compared_word_by_word():
    assert words("Greets the customer warmly.", "Greets every customer warmly!") == (
        ("same", "Greets "),
        ("del", "the"),
        ("ins", "every"),
        ("same", " customer warmly"),
        ("del", "."),
        ("ins", "!"),
    )


def test_a_space_between_two_changed_words_joins_them():
    assert words("a quick brown fox", "a slow red fox") == (
        ("same", "a "),
        ("del", "quick brown"),
        ("ins", "slow red"),
        ("same", " fox"),
    )


def test_an_item_added_in_the_middle_is_not_a_reorder():
    old = demo()
    extra = Item("D-05", Text("新"), Text("新"), Decimal("0.5"), red_line=True)
    one, two = old.sections
    new = replace(old, sections=(replace(one, items=(one.items[0], extra, *one.items[1:])), two))
    assert diff(old, new) == (ItemAdded("one", 1, extra),)
    assert totals(old, new) == Totals(Decimal("7.5"), Decimal(8))


def test_swapped_items_are_one_reorder_of_their_section():
    old = demo()
    new = rebuilt(old, [("one", "一", ["D-02", "D-01", "D-03"]), ("two", "二", ["D-04"])])
    assert diff(old, new) == (
        ItemsReordered("one", ("D-01", "D-02", "D-03"), ("D-02", "D-01", "D-03")),
    )


def test_a_section_split_off_reports_the_section_and_the_moves():
    old = demo()
    new = rebuilt(
        old,
        [("two", "二", ["D-04"]), ("one", "壹", ["D-01"]), ("three", "三", ["D-02", "D-03"])],
    )
    assert diff(old, new) == (
        SectionAdded("three", Text("三"), 2),
        SectionRetitled("one", Text("一"), Text("壹")),
        SectionsReordered(("one", "two"), ("two", "one")),
        ItemMoved("D-02", "one", "three", 0),
        ItemMoved("D-03", "one", "three", 1),
    )
    assert section_totals(old, new) == (
        ("two", Totals(Decimal(3), Decimal(3))),
        ("one", Totals(Decimal("4.5"), Decimal(2))),
        ("three", Totals(Decimal(0), Decimal("2.5"))),
    )


def test_a_removed_section_and_its_items_are_reported_apart():
    old = demo()
    new = rebuilt(old, [("one", "一", ["D-01", "D-02", "D-03"])])
    assert diff(old, new) == (
        SectionRemoved("two", Text("二")),
        ItemRemoved("two", old.item("D-04")),
    )


def test_points_flags_and_features_are_reported_per_field():
    old = demo()
    new = replace(
        demo(points=Decimal("2.5"), red_line=True, video_observable=False, features=("atm",)),
        title=Text("示例", "Example"),
    )
    assert diff(old, new) == (
        ChecklistRetitled(Text("示例", "Demo"), Text("示例", "Example")),
        PointsChanged("D-01", Decimal(2), Decimal("2.5")),
        FlagChanged("D-01", "red_line", False, True),
        FlagChanged("D-01", "video_observable", True, False),
        FeaturesChanged("D-01", (), ("atm",)),
    )


def test_changes_for_another_version_do_not_apply():
    old, new = demo(), demo(points=Decimal(4))
    with pytest.raises(ChangesDoNotApply):
        apply(demo(points=Decimal(3)), diff(old, new))


def test_two_different_checklists_are_not_compared():
    with pytest.raises(ValueError):
        diff(demo(), replace(demo(), code="other"))


def test_a_shipped_checklist_against_its_next_edition():
    path = ROOT / "checklists" / "editions" / "1" / "teller_seven_steps.yaml"
    old = core.parse(yaml.safe_load(path.read_text(encoding="utf-8")))
    first = old.sections[0]
    new = replace(old, sections=(*old.sections[1:], replace(first, items=first.items[::-1])))
    assert apply(old, diff(old, new)) == new
    assert diff(old, old) == ()
