"""The restoration stages' names, options and cards: parsing and validation (no torch, no model)."""

from __future__ import annotations

import pytest

from engine.restoration.stages import (
    STAGE_CARDS,
    STAGE_ORDER,
    FadingOptions,
    GrainOptions,
    RestorationOptions,
    ScratchOptions,
    parse_stages,
    parse_strengths,
)


def test_parse_stages_gives_the_running_order_whatever_the_order_named():
    assert parse_stages("scratches,fading,grain") == ("scratches", "grain", "fading")
    assert parse_stages(" Fading , scratches ") == ("scratches", "fading")
    assert parse_stages("all") == STAGE_ORDER
    assert parse_stages("grain,grain") == ("grain",)


@pytest.mark.parametrize(
    "text, words",
    [
        ("scratches,colour", "unknown restoration stage 'colour'"),
        ("", "name at least one restoration stage"),
        ("scratches,,fading", "empty name"),
        ("scrat\nches", "unknown restoration stage"),
    ],
)
def test_parse_stages_errors_are_one_line_and_name_the_problem(text, words):
    with pytest.raises(ValueError) as caught:
        parse_stages(text)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    if "unknown" in words:
        assert "known: scratches, grain, fading" in message


def test_parse_strengths_for_all_stages_or_each():
    assert parse_strengths("0.7", ("grain", "fading")) == {"grain": 0.7, "fading": 0.7}
    assert parse_strengths("fading=0.9, grain=0.25") == {"fading": 0.9, "grain": 0.25}
    with pytest.raises(ValueError, match="fading strength must be a number from 0 to 1"):
        parse_strengths("fading=1.5")
    with pytest.raises(ValueError, match="unknown restoration stage 'colour'"):
        parse_strengths("colour=0.5")
    with pytest.raises(ValueError, match="strength must be a number"):
        parse_strengths("lots")


def test_options_refuse_what_cannot_work_with_messages_a_user_can_act_on():
    with pytest.raises(ValueError, match="fading strength must be a number from 0 to 1, got 2"):
        FadingOptions(strength=2)
    with pytest.raises(ValueError, match="fill method must be one of telea, ns"):
        ScratchOptions(method="magic")
    with pytest.raises(ValueError, match="search window must be odd"):
        GrainOptions(search=20)
    with pytest.raises(ValueError, match="tile size"):
        RestorationOptions(tile_size=8)
    options = RestorationOptions().with_strengths({"fading": 0.2, "scratches": 0.9})
    assert options.fading.strength == 0.2 and options.scratches.strength == 0.9
    assert options.grain == GrainOptions()


def test_every_stage_has_a_card_with_its_parameters():
    assert set(STAGE_CARDS) == set(STAGE_ORDER)
    for name, card in STAGE_CARDS.items():
        assert card.name == name and card.title and card.description and card.method
        assert "strength" in {p.name for p in card.parameters}
    assert STAGE_CARDS["scratches"].gives_mask and STAGE_CARDS["scratches"].uses_model
