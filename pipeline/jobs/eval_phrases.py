"""What the generated labelled set says, kept apart from everything the scorer reads.

The hype the set plants is said in words that `configs/default.yaml` does not list: no
anchor, keyword or emotion prototype (of the defaults or of any channel template) and no
word of the offline emotion lexicon appears in a planted phrase, so a measure on this set is
not recall of our own word lists (tests/test_evaluation.py checks it). The calm talk avoids
them too. Only the read-out decoy uses the config's own kind of phrases, read calmly: that
is its point.

The training and the held-out split share no phrase: weights fitted on one are measured on
the other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SplitPhrases:
    hype_en: tuple[str, ...]
    hype_ru: tuple[str, ...]
    calm_en: tuple[str, ...]
    calm_ru: tuple[str, ...]
    readout_en: tuple[str, ...]
    readout_ru: tuple[str, ...]

    def planted(self) -> tuple[str, ...]:
        """Every text the set plants except the read-out decoy."""
        return self.hype_en + self.hype_ru + self.calm_en + self.calm_ru


TRAIN = SplitPhrases(
    hype_en=(
        "He actually pulled that off, are you kidding me?",
        "Get out of here, there is zero chance he survived!",
        "Look at him go, he is on fire tonight!",
        "That was absolutely nuts, my hands are shaking!",
        "Somebody clip that, I am losing my mind over here!",
        "Are you serious? He did it, he really did it!",
        "Come on, that is the coolest thing I have seen all year!",
        "Bro, he deleted the whole squad in two seconds!",
    ),
    hype_ru=(
        "Это было вообще нереально!",
        "Ты видел, что он сделал? У меня мурашки по коже!",
        "Он их всех разнёс за пару секунд!",
        "Вот это он выдал, чистый космос!",
        "Я аж подпрыгнул на стуле, это уму непостижимо!",
        "Ну ничего себе, он вытащил этот раунд!",
        "Ребята, у меня руки трясутся!",
    ),
    calm_en=(
        "Welcome back to the channel, folks.",
        "Today we are gathering some materials in this area.",
        "I think the next quest is somewhere to the north.",
        "Let me check the map for a second.",
        "The weather in this game is pretty nice today.",
        "We need about twenty more pieces of wood.",
        "Thanks for the follow, I appreciate it.",
        "I will upgrade the sword after this run.",
        "This part is a bit slow, but it pays off.",
        "Let us walk over to the village and sell these items.",
        "My chair is very comfortable, by the way.",
        "I had pasta for dinner before going live.",
    ),
    calm_ru=(
        "Всем привет, добро пожаловать на канал.",
        "Сегодня мы спокойно пособираем ресурсы.",
        "Кажется, следующий квест где-то на севере.",
        "Дайте гляну на карту, секундочку.",
        "Погода в этой игре сегодня приятная.",
        "Нам нужно ещё примерно двадцать досок.",
        "Спасибо за подписку, очень приятно.",
        "После этого забега я улучшу меч.",
        "Пойдём в деревню и продадим вещи.",
        "Перед эфиром я ел макароны.",
    ),
    readout_en=(
        "Mike writes: oh my god, no way.",
        "Pixelwolf says: that was insane, let's go.",
        "Next message: what just happened, this is unbelievable.",
        "Someone asks if that was the best play ever. I do not think so.",
    ),
    readout_ru=(
        "Саша пишет: офигеть, да ладно.",
        "Дима спрашивает, что сейчас произошло. Ничего особенного.",
        "Лена пишет: это было невероятно. Спасибо, Лена.",
    ),
)

HELDOUT = SplitPhrases(
    hype_en=(
        "Hold on, hold on, did he seriously do that?",
        "I need a minute, my heart is pounding like a drum!",
        "Are you joking? That man is a machine!",
        "Rewind it, rewind it, I have to watch that again!",
        "He wiped out the entire lobby, are you for real?",
        "Chat, I am speechless, my jaw is on the floor!",
        "Nobody saw that coming, absolute madness!",
        "Get in there! Give me that! Yeah, baby!",
    ),
    hype_ru=(
        "Это уже за гранью, я такого никогда не видел!",
        "Как он это провернул? Фантастика!",
        "Я чуть со стула не упал!",
        "Ничего себе поворот, он затащил в одиночку!",
        "Ребята, это легендарно, запомните этот день!",
        "Сердце колотится, руки ходуном ходят!",
        "Он всех переиграл, это шедевр!",
    ),
    calm_en=(
        "Good evening, glad to see you all here.",
        "We are heading back to the base to craft a few things.",
        "The merchant should be near the bridge.",
        "I am going to sort the inventory first.",
        "This song in the background is one of my favourites.",
        "Somebody asked about my keyboard, it is a cheap one.",
        "We still need three iron bars for the armour.",
        "Give me a moment, I am reading the quest text.",
        "The river path is longer, but it is safer.",
        "I usually stream on Tuesdays and Fridays.",
        "Let me drink some water real quick.",
        "The lighting in this cave is lovely.",
    ),
    calm_ru=(
        "Добрый вечер, рад всех видеть.",
        "Мы возвращаемся на базу, чтобы кое-что скрафтить.",
        "Торговец должен быть возле моста.",
        "Сначала разберу инвентарь.",
        "Нам ещё нужно три железных слитка для брони.",
        "Подождите, я читаю описание задания.",
        "Дорога вдоль реки длиннее, зато безопаснее.",
        "Обычно я провожу эфиры по вторникам и пятницам.",
        "Пойду попью воды, одну минуту.",
        "Освещение в этой пещере очень мягкое.",
    ),
    readout_en=(
        "Lena writes: oh my god, that was insane.",
        "Ghost rider says: no way, let's go.",
        "Another message: this is hilarious, I can't believe it.",
        "Kotik asks what just happened. Nothing much, really.",
    ),
    readout_ru=(
        "Миша пишет: не может быть, я в шоке.",
        "Котик пишет: вот это было красиво. Ну, спасибо.",
        "Следующее сообщение: поехали, это просто безумие.",
    ),
)

SPLITS: dict[str, SplitPhrases] = {"train": TRAIN, "heldout": HELDOUT}
