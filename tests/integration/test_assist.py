"""Assist: sentences through Home Assistant's conversation agent reach the simulated charger."""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.assist import (
    DATA_ASSIST,
    LANGUAGES,
    AssistTriggers,
    format_power,
)
from custom_components.webasto_chargeconnect.const import DOMAIN
from webasto_sim import SimulatedCharger

from ..common import IDENTITY
from .conftest import charger_device, setup_entry, wait_configured, wait_for_state, wait_until

E = "webasto_next_ws123456"
SECOND = "UNITE-WS654321"


async def _setup_conversation(hass: HomeAssistant) -> None:
    """The default agent as a real Home Assistant has it (intents, exposure settings)."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "intent", {})
    assert await async_setup_component(hass, "conversation", {})


@pytest.fixture
async def entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    """The charger entry, with the conversation integration loaded first (as after a restart)."""
    await _setup_conversation(hass)
    return await setup_entry(hass)


def _triggers(hass: HomeAssistant) -> AssistTriggers:
    triggers: AssistTriggers = hass.data[DATA_ASSIST]
    return triggers


async def ask(
    hass: HomeAssistant, text: str, language: str = "en"
) -> conversation.ConversationResult:
    """Send a sentence through the conversation agent, as a voice assistant would."""
    return await conversation.async_converse(hass, text, None, Context(), language=language)


def speech(result: conversation.ConversationResult) -> str:
    """What the assistant says."""
    text: str = result.response.speech["plain"]["speech"]
    return text


async def say(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Send a sentence and return the spoken answer."""
    return speech(await ask(hass, text, language))


def _calls(sim: SimulatedCharger, action: str) -> int:
    return sum(1 for call in sim.received if call.action == action)


@pytest.mark.parametrize(
    ("language", "start", "started", "stop", "stopped"),
    [
        (
            "en",
            "start charging the car",
            "Started charging.",
            "stop the charger",
            "Stopped charging.",
        ),
        ("nl", "laad de auto", "Laden gestart.", "stop de laadpaal", "Laden gestopt."),
    ],
)
async def test_start_and_stop_by_voice(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    language: str,
    start: str,
    started: str,
    stop: str,
    stopped: str,
) -> None:
    """A start sentence sends RemoteStart with the switch's tag, a stop sentence RemoteStop."""
    charger = entry.runtime_data.charger
    await online_sim.plug_in()
    await wait_until(hass, lambda: charger.plugged_in)

    assert await say(hass, start, language) == started
    call = await online_sim.wait_for_call("RemoteStartTransaction")
    assert call.payload == {"connectorId": 1, "idTag": "HomeAssistant"}
    await wait_for_state(hass, f"switch.{E}_charging", "on")
    await wait_until(hass, lambda: charger.charging)  # the simulator knows the transaction id
    tx_id = charger.active_transaction.transaction_id

    # Asked again while charging: nothing more is sent.
    assert await say(hass, start, language) == LANGUAGES[language].answers["already_charging"]
    assert _calls(online_sim, "RemoteStartTransaction") == 1

    assert await say(hass, stop, language) == stopped
    call = await online_sim.wait_for_call("RemoteStopTransaction")
    assert call.payload == {"transactionId": tx_id}
    await wait_for_state(hass, f"switch.{E}_charging", "off")
    assert charger.last_transaction.stop_reason == "Remote"

    assert await say(hass, stop, language) == LANGUAGES[language].answers["not_charging"]
    assert _calls(online_sim, "RemoteStopTransaction") == 1


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Start charging the car.", "en"),
        ("charge the vehicle", "en"),
        ("start the charger", "en"),
        ("start charging", "en"),
        ("start charging Webasto NEXT-WS123456", "en"),
        ("start het laden", "nl"),
        ("start laden", "nl"),
        ("Start de laadpaal", "nl"),
        ("laad de auto op", "nl"),
    ],
)
async def test_start_sentence_variants(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    text: str,
    language: str,
) -> None:
    """Each start sentence (also with punctuation and capitals) starts a session."""
    charger = entry.runtime_data.charger
    await online_sim.plug_in()
    await wait_until(hass, lambda: charger.plugged_in)
    assert await say(hass, text, language) == LANGUAGES[language].answers["started"]
    call = await online_sim.wait_for_call("RemoteStartTransaction")
    assert call.payload["idTag"] == "HomeAssistant"


# Every sentence the README lists, and its variants naming the charger (device name "Garage").
SENTENCES = {
    "en": {
        "start": [
            "start charging car",
            "start charging the car",
            "charge the car",
            "start the charger",
            "start charging",
            "start charging Garage",
            "start Garage",
        ],
        "stop": [
            "stop charging car",
            "stop charging the car",
            "stop the charger",
            "stop charging",
            "stop charging Garage",
            "stop Garage",
        ],
        "power": [
            "what is the charger's power",
            "how much power is the charger using",
            "what is the power of Garage",
            "how much power is Garage using",
        ],
    },
    "nl": {
        "start": [
            "start laden",
            "start het laden",
            "begin met laden",
            "laad de auto",
            "laad de auto op",
            "start de laadpaal",
            "start het laden op Garage",
            "start Garage",
        ],
        "stop": [
            "stop laden",
            "stop met laden",
            "stop het laden",
            "stop de laadpaal",
            "stop het laden van de auto",
            "stop Garage",
        ],
        "power": [
            "hoeveel vermogen laadt de auto",
            "wat is het vermogen van de laadpaal",
            "hoeveel vermogen gebruikt Garage",
        ],
    },
}


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_every_documented_sentence(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, language: str
) -> None:
    """Each documented sentence reaches its command (checked without sending anything)."""
    registry = dr.async_get(hass)
    device = charger_device(hass)
    registry.async_update_device(device.id, name_by_user="Garage")
    await hass.async_block_till_done()
    charger = entry.runtime_data.charger
    answers = LANGUAGES[language].answers
    sentences = SENTENCES[language]

    # Not charging: every stop sentence answers so, and sends nothing.
    for sentence in sentences["stop"]:
        assert await say(hass, sentence, language) == answers["not_charging"], sentence

    # Charging at 7.4 kW: every start sentence says so, every power sentence gives the power.
    await online_sim.plug_in()
    await online_sim.start_transaction("CARD-1")
    await online_sim.meter_values(power_w=7400)
    await wait_until(hass, lambda: charger.measurements.power_w == 7400)
    for sentence in sentences["start"]:
        assert await say(hass, sentence, language) == answers["already_charging"], sentence
    power = answers["power"].format(power=format_power(7400, language))
    for sentence in sentences["power"]:
        assert await say(hass, sentence, language) == power, sentence
    assert _calls(online_sim, "RemoteStartTransaction") == 0
    assert _calls(online_sim, "RemoteStopTransaction") == 0


async def test_answer_follows_the_sentence_language(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A Dutch sentence in an English conversation is answered in Dutch (and vice versa)."""
    assert await say(hass, "laad de auto", "en") == "Het laden begint zodra de auto is aangesloten."
    await online_sim.wait_for_call("RemoteStartTransaction")
    charger = entry.runtime_data.charger
    # The simulator knows its transaction id once it reports Charging.
    await wait_until(hass, lambda: charger.charging)
    assert await say(hass, "stop charging the car", "nl") == "Stopped charging."
    await online_sim.wait_for_call("RemoteStopTransaction")


async def test_start_without_car_plugged_in(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Accepted before a car is plugged in: the answer says when charging begins."""
    assert not entry.runtime_data.charger.plugged_in
    assert await say(hass, "start charging the car") == (
        "Charging starts as soon as the car is plugged in."
    )
    await online_sim.wait_for_call("RemoteStartTransaction")


@pytest.mark.parametrize(
    ("language", "questions", "answer"),
    [
        (
            "en",
            [
                "what is the charger's power",
                "What's the charger's power?",
                "how much power is the charger using",
            ],
            "The charger is using 7.4 kW.",
        ),
        (
            "nl",
            [
                "hoeveel vermogen laadt de auto",
                "Wat is het vermogen van de laadpaal?",
            ],
            "De laadpaal gebruikt 7,4 kW.",
        ),
    ],
)
async def test_power_question(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    language: str,
    questions: list[str],
    answer: str,
) -> None:
    """The power question is answered with the power of the last MeterValues sample."""
    answers = LANGUAGES[language].answers
    assert await say(hass, questions[0], language) == answers["power_zero"]  # Available: 0 W
    charger = entry.runtime_data.charger
    await online_sim.plug_in()
    await online_sim.start_transaction("CARD-1")
    await online_sim.meter_values(power_w=7400)
    await wait_until(hass, lambda: charger.measurements.power_w == 7400)
    for question in questions:
        assert await say(hass, question, language) == answer

    await online_sim.meter_values(power_w=11000)
    await wait_until(hass, lambda: charger.measurements.power_w == 11000)
    assert await say(hass, questions[0], language) == answers["power"].format(power="11 kW")

    await online_sim.stop_transaction()
    await wait_until(hass, lambda: charger.active_transaction is None)
    assert await say(hass, questions[0], language) == answers["power_zero"]


async def test_power_not_reported_yet(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A charger that has booted but sent neither status nor meter values."""
    sim = make_sim(entry)
    await sim.connect()
    await sim.boot()
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.online and charger.info.model is not None)
    assert charger.measurements.power_w is None
    assert await say(hass, "what is the charger's power") == (
        "The charger has not reported its power yet."
    )
    assert await say(hass, "wat is het vermogen van de laadpaal", "nl") == (
        "De laadpaal heeft nog geen vermogen gemeld."
    )


@pytest.mark.parametrize(
    ("language", "sentences", "answer"),
    [
        (
            "en",
            ["start charging the car", "stop the charger", "what is the charger's power"],
            "The charger is offline.",
        ),
        (
            "nl",
            ["laad de auto", "stop het laden", "hoeveel vermogen laadt de auto"],
            "De laadpaal is offline.",
        ),
    ],
)
async def test_offline_charger(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    language: str,
    sentences: list[str],
    answer: str,
) -> None:
    """An offline charger gets a spoken answer, not an error, and nothing is sent."""
    charger = entry.runtime_data.charger
    online_sim.go_offline()
    await wait_until(hass, lambda: not charger.online)
    for sentence in sentences:
        result = await ask(hass, sentence, language)
        assert result.response.response_type is conversation.intent.IntentResponseType.ACTION_DONE
        assert speech(result) == answer
    assert _calls(online_sim, "RemoteStartTransaction") == 0
    assert _calls(online_sim, "RemoteStopTransaction") == 0


async def test_refused_and_unanswered_commands(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A refused start and an unanswered one are spoken answers."""
    online_sim.reply_to["RemoteStartTransaction"] = "Rejected"
    assert await say(hass, "start charging the car") == "The charger refused."
    assert await say(hass, "laad de auto", "nl") == "De laadpaal weigerde."
    del online_sim.reply_to["RemoteStartTransaction"]

    with patch.object(entry.runtime_data.charger.connection, "call_timeout", 0.2):
        online_sim.response_delay = 2
        assert await say(hass, "start charging the car") == "The charger did not answer."
        online_sim.response_delay = 0


async def test_other_failure_is_logged(
    hass: HomeAssistant,
    socket_enabled: None,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A start the library refuses to send (an invalid tag) is answered and logged."""
    await _setup_conversation(hass)
    config_entry = await setup_entry(hass, remote_start_tag="X" * 21)
    sim = make_sim(config_entry)
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, config_entry)
    assert await say(hass, "start charging the car") == (
        "That did not work; the Home Assistant log has the details."
    )
    assert "voice command 'start charging the car' failed" in caplog.text
    assert _calls(sim, "RemoteStartTransaction") == 0


async def test_builtin_intents_with_aliases(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Home Assistant's own intents work on the entities once they have an alias."""
    registry = er.async_get(hass)
    switch_id = f"switch.{E}_charging"
    power_id = f"sensor.{E}_power"
    registry.async_update_entity(switch_id, aliases={"car charging", "autoladen"})
    registry.async_update_entity(power_id, aliases={"wallbox power", "laadvermogen"})
    async_expose_entity(hass, conversation.DOMAIN, power_id, True)
    charger = entry.runtime_data.charger
    await online_sim.plug_in()

    result = await ask(hass, "turn on car charging")
    assert result.response.intent is not None
    assert result.response.intent.intent_type == "HassTurnOn"
    call = await online_sim.wait_for_call("RemoteStartTransaction")
    assert call.payload["idTag"] == "HomeAssistant"
    await wait_for_state(hass, switch_id, "on")

    await online_sim.meter_values(power_w=7400)
    await wait_until(hass, lambda: charger.measurements.power_w == 7400)
    await wait_for_state(hass, power_id, "7.4")
    result = await ask(hass, "what is the wallbox power")
    assert result.response.intent.intent_type == "HassGetState"
    assert "7.4" in speech(result)
    result = await ask(hass, "wat is het laadvermogen", "nl")
    assert result.response.intent.intent_type == "HassGetState"
    assert "7.4" in speech(result) or "7,4" in speech(result)

    result = await ask(hass, "zet autoladen uit", "nl")
    assert result.response.intent.intent_type == "HassTurnOff"
    await online_sim.wait_for_call("RemoteStopTransaction")
    await wait_for_state(hass, switch_id, "off")


@pytest.mark.parametrize(
    ("language", "turn_on", "question"),
    [
        ("en", "turn on wallbox charging", "what is the wallbox power"),
        ("nl", "zet wallbox laden aan", "wat is het wallbox vermogen"),
    ],
)
async def test_builtin_intents_with_a_speakable_device_name(
    hass: HomeAssistant,
    socket_enabled: None,
    make_sim: Callable[..., SimulatedCharger],
    language: str,
    turn_on: str,
    question: str,
) -> None:
    """A device named "Wallbox": the built-in intents find "Wallbox Charging" / "Wallbox Laden"."""
    hass.config.language = language  # entity names are in Home Assistant's language
    await _setup_conversation(hass)
    config_entry = await setup_entry(hass)
    sim = make_sim(config_entry)
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, config_entry)
    registry = dr.async_get(hass)
    device = charger_device(hass)
    registry.async_update_device(device.id, name_by_user="Wallbox")
    # Entity ids follow the language too: find the power sensor by its unique id.
    power_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{IDENTITY}_power")
    assert power_id is not None
    async_expose_entity(hass, conversation.DOMAIN, power_id, True)
    await hass.async_block_till_done()

    result = await ask(hass, turn_on, language)
    assert result.response.intent.intent_type == "HassTurnOn"
    call = await sim.wait_for_call("RemoteStartTransaction")
    assert call.payload["idTag"] == "HomeAssistant"
    charger = config_entry.runtime_data.charger
    await wait_until(hass, lambda: charger.charging)
    await sim.meter_values(power_w=7400)
    await wait_for_state(hass, power_id, "7.4")
    result = await ask(hass, question, language)
    assert result.response.intent.intent_type == "HassGetState"
    assert "7.4" in speech(result)


async def test_several_chargers(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """With two chargers an unnamed sentence asks which one; a named one acts on that one."""
    first = make_sim(entry)
    await first.connect()
    await first.boot()
    await first.status("Available")
    second_entry = await setup_entry(hass, identity=SECOND)
    second = make_sim(second_entry, profile="unite", identity=SECOND)
    await second.connect()
    await second.boot()
    await second.status("Available")
    await wait_configured(hass, entry)
    await wait_configured(hass, second_entry)

    assert await say(hass, "start charging the car") == (
        "Which charger do you mean: Webasto NEXT-WS123456 or Webasto UNITE-WS654321?"
    )
    assert await say(hass, "laad de auto", "nl") == (
        "Welke laadpaal bedoel je: Webasto NEXT-WS123456 of Webasto UNITE-WS654321?"
    )
    assert _calls(first, "RemoteStartTransaction") == _calls(second, "RemoteStartTransaction") == 0

    # Named by its device name, as typed or as speech-to-text writes it.
    assert await say(hass, "start charging Webasto UNITE-WS654321") == (
        "Charging starts as soon as the car is plugged in."
    )
    await second.wait_for_call("RemoteStartTransaction")
    assert _calls(first, "RemoteStartTransaction") == 0
    charger2 = second_entry.runtime_data.charger
    await wait_until(hass, lambda: charger2.charging)

    # The user names the device "Garage": the sentences follow the new name.
    registry = dr.async_get(hass)
    device = charger_device(hass, SECOND)
    registry.async_update_device(device.id, name_by_user="Garage")
    await hass.async_block_till_done()
    await second.meter_values(power_w=3700)
    await wait_until(hass, lambda: charger2.measurements.power_w == 3700)
    assert await say(hass, "hoeveel vermogen gebruikt garage", "nl") == (
        "De laadpaal gebruikt 3,7 kW."
    )
    assert await say(hass, "stop charging the garage") == "Stopped charging."
    await second.wait_for_call("RemoteStopTransaction")
    assert await say(hass, "start webasto next ws123456") == (
        "Charging starts as soon as the car is plugged in."
    )
    await first.wait_for_call("RemoteStartTransaction")
    assert await say(hass, "what is the charger's power") == (
        "Which charger do you mean: Webasto NEXT-WS123456 or Garage?"
    )

    # Unloading one charger: the other needs no name any more.
    assert await hass.config_entries.async_unload(second_entry.entry_id)
    await hass.async_block_till_done()
    assert await say(hass, "what is the charger's power") == "The charger is not using any power."


# Home Assistant's default agent builds its sentence index for each language on first use
# (English and Dutch here): on a loaded two-core machine that alone can take a minute.
@pytest.mark.timeout(180)
async def test_no_sentences_without_a_loaded_charger(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The sentences are registered only while a charger is loaded."""
    triggers = _triggers(hass)
    assert triggers.registered == 3
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert triggers.registered == 0
    assert await triggers.async_handle("start", "en", "start charging") == "No charger is set up."
    # Not ours any more (what Home Assistant answers instead depends on its version).
    ours = {answer for language in LANGUAGES.values() for answer in language.answers.values()}
    assert await say(hass, "start charging the car") not in ours
    assert await say(hass, "laad de auto", "nl") not in ours
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert triggers.registered == 3
    assert await say(hass, "start charging the car") == "The charger is offline."
    # Renaming something that is not a charger does not rebuild the sentences.
    triggers.async_refresh()
    assert triggers.registered == 3


async def test_conversation_loaded_after_the_integration(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Without the conversation integration nothing is registered; once it loads, it is."""
    config_entry = await setup_entry(hass)
    triggers = _triggers(hass)
    assert triggers.registered == 0
    await _setup_conversation(hass)
    await hass.async_block_till_done()
    assert triggers.registered == 3
    assert await say(hass, "start the charger") == "The charger is offline."
    assert config_entry.runtime_data.charger.online is False
    triggers.async_start()  # a second start changes nothing
    assert triggers.registered == 3
    triggers.async_stop()
    assert triggers.registered == 0


def test_format_power() -> None:
    """Spoken power: watts below 1 kW, else kW with one decimal and the language's separator."""
    assert format_power(450.4, "en") == "450 W"
    assert format_power(7400, "en") == "7.4 kW"
    assert format_power(7400, "nl") == "7,4 kW"
    assert format_power(11000, "nl") == "11 kW"
    assert format_power(22049, "en") == "22 kW"
