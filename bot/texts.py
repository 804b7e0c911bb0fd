"""What the bot says, in English and Russian, chosen by the user's Telegram language."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": ("Hi! Send me a link to a stream VOD (Twitch, YouTube, Kick, or any video link) or "
                  "upload a video, pick a layout, and I will send back its best moments as vertical "
                  "Shorts with subtitles, each with a Virality Score and why.\n\n"
                  "Commands: /queue your jobs · /cancel stop the latest · /settings defaults · /stats"),
        "help": ("<b>How to use</b>\n1. Send a VOD link (anywhere in your message) or upload a video.\n"
                 "2. Pick a layout; Options sets the number of clips, their length, subtitles, language.\n"
                 "3. Watch the status message; clips arrive one by one, then a timeline of the stream.\n\n"
                 "<b>Limits</b>: videos up to {max_hours} h. Uploads up to {download_mb} MB "
                 "(Telegram's limit for bots; send a link for bigger files). Clips are kept under {upload_mb} MB."),
        "no_link": "Send me a link to a stream VOD or a video file, or upload a video. /help explains more.",
        "checking": "🔎 Checking the link…",
        "pick_layout": "🎬 <b>{title}</b>{duration}\nPick a layout:",
        "options": "⚙️ Options",
        "back": "« Back",
        "options_title": ("⚙️ <b>{title}</b>\nClips: {top_k} · length {length} · subtitles {subs} · hook {hook} · "
                          "language {language}"),
        "queued": "⏳ <b>{title}</b>\nQueued: {layout}. Position in the queue: {position}.",
        "status": "⏳ <b>{title}</b>\n{stage} — {percent}%\n{bar}{eta}",
        "eta": "\nabout {minutes} min left",
        "done": "✅ <b>{title}</b>\nDone: {count} clips.",
        "failed": "❌ <b>{title}</b>\n{message}",
        "cancelled": "🛑 <b>{title}</b>\nCancelled.",
        "cancel": "✖️ Cancel",
        "cancel_requested": "Cancelling…",
        "nothing_to_cancel": "You have no job running or queued.",
        "not_yours": "That is not yours.",
        "expired": "This request has expired. Send the link again.",
        "private": "Sorry, this bot is private.",
        "too_many": "You already have {n} jobs waiting. Wait for one to finish or /cancel one.",
        "too_big_upload": ("This file is {size} MB; bots can only download {limit} MB from Telegram. "
                           "Send a link to the video instead, or run a local Bot API server "
                           "(TELEGRAM_API_SERVER) to allow large files."),
        "not_video": "This file is not a video. Send a video file or a link to one.",
        "queue_empty": "You have no jobs in the queue.",
        "queue_line": "{id} · {status} · {stage} {percent}% · {title}",
        "caption": "<b>#{rank}</b> · Virality <b>{score}</b>/100\n{bars}\n⏱ {timecode}",
        "summary": "📈 <b>{title}</b>: score over the whole stream, picked moments marked.",
        "vote_thanks": "Thanks, noted!",
        "pick_other_layout": "Pick another layout for clip #{rank}:",
        "rerender_queued": "Re-rendering clip #{rank}…",
        "retitle_queued": "Writing a new title for clip #{rank}…",
        "settings": ("⚙️ Your defaults: layout <b>{layout}</b>, clips <b>{top_k}</b>, template <b>{template}</b>, "
                     "hook <b>{hook}</b>, colour <b>{colour}</b>, watermark <b>{watermark}</b>.\n"
                     "Set the watermark with /watermark @yourhandle (/watermark off removes it)."),
        "watermark_usage": ("Send /watermark followed by your handle, e.g. /watermark @mychannel "
                            "(at most 40 characters)."),
        "settings_saved": "Saved.",
        "weights_learnt": ("⚖️ <b>Your scoring weights</b>, learnt from {votes} of your votes{template}:\n"
                           "<pre>{table}</pre>\nIn brackets: the defaults. Reset goes back to them."),
        "weights_default": ("⚖️ <b>Scoring weights</b>: the defaults{template}.\n<pre>{table}</pre>\n"
                            "Rate clips with 👍/👎 (asking for a clip again counts as a like): after {need} "
                            "votes, liked and disliked ones both, I learn your taste. Votes so far: {have}."),
        "weights_for_template": " (template {name})",
        "weights_reset": "↩️ Reset",
        "weights_reset_done": "Back to the default weights.",
        "stats": ("📊 Jobs: {jobs} (done {done}, failed {failed}) · clips {clips}\n"
                  "Median seconds per stage: {stages}"),
        "too_large_clip": "Clip #{rank} is larger than Telegram lets a bot send; it is kept on the server.",
        "stage_fetch": "downloading", "stage_probe": "checking the file", "stage_audio": "extracting audio",
        "stage_asr": "recognising speech", "stage_audio_features": "listening to the audio",
        "stage_motion": "watching the action", "stage_enrich": "reading what was said",
        "stage_score": "ranking moments", "stage_render": "rendering clips", "stage_chat": "reading the chat",
        "stage_subtitles": "polishing the subtitles", "stage_post_kit": "writing titles and hashtags",
        "chat_attached": ("💬 Chat log added to <b>{title}</b>: {count} messages from {chatters} chatters. "
                          "Its reactions count towards the score. Now pick a layout."),
        "chat_no_request": ("To use a chat log, send the VOD link first, then the chat file (TwitchDownloader "
                            "JSON, chat-downloader JSON or CSV, YouTube .live_chat.json, or a .txt log) before "
                            "picking a layout."),
        "chat_too_big": "This chat log is too large; logs up to {limit} MB can be used.",
        "bad_choice": "That choice is not available. Pick one of the buttons, or send the link again.",
        "oops": ("⚠️ Something went wrong on our side, not yours. It has been logged; "
                 "please try again in a moment."),
    },
    "ru": {
        "start": ("Привет! Пришлите ссылку на запись стрима (Twitch, YouTube, Kick или любое видео) или "
                  "загрузите видео, выберите раскладку, и я пришлю лучшие моменты как вертикальные "
                  "Shorts с субтитрами, с оценкой виральности и объяснением.\n\n"
                  "Команды: /queue ваши задачи · /cancel остановить последнюю · /settings · /stats"),
        "help": ("<b>Как пользоваться</b>\n1. Пришлите ссылку на VOD (в любом месте сообщения) или видео.\n"
                 "2. Выберите раскладку; в «Настройки» — число клипов, длина, субтитры, язык.\n"
                 "3. Следите за статусом; клипы придут по одному, затем график всего стрима.\n\n"
                 "<b>Ограничения</b>: видео до {max_hours} ч. Загрузка до {download_mb} МБ "
                 "(лимит Telegram для ботов; большие файлы — ссылкой). Клипы не больше {upload_mb} МБ."),
        "no_link": "Пришлите ссылку на запись стрима или видеофайл, или загрузите видео. Подробнее: /help.",
        "checking": "🔎 Проверяю ссылку…",
        "pick_layout": "🎬 <b>{title}</b>{duration}\nВыберите раскладку:",
        "options": "⚙️ Настройки",
        "back": "« Назад",
        "options_title": ("⚙️ <b>{title}</b>\nКлипов: {top_k} · длина {length} · субтитры {subs} · хук {hook} · "
                          "язык {language}"),
        "queued": "⏳ <b>{title}</b>\nВ очереди: {layout}. Место в очереди: {position}.",
        "status": "⏳ <b>{title}</b>\n{stage} — {percent}%\n{bar}{eta}",
        "eta": "\nосталось около {minutes} мин",
        "done": "✅ <b>{title}</b>\nГотово: клипов {count}.",
        "failed": "❌ <b>{title}</b>\n{message}",
        "cancelled": "🛑 <b>{title}</b>\nОтменено.",
        "cancel": "✖️ Отмена",
        "cancel_requested": "Отменяю…",
        "nothing_to_cancel": "У вас нет задач в работе или в очереди.",
        "not_yours": "Это не ваше.",
        "expired": "Запрос устарел. Пришлите ссылку ещё раз.",
        "private": "Извините, это закрытый бот.",
        "too_many": "У вас уже {n} задач в очереди. Дождитесь завершения или /cancel.",
        "too_big_upload": ("Файл {size} МБ, а боты могут скачивать из Telegram только {limit} МБ. "
                           "Пришлите ссылку на видео или запустите локальный Bot API сервер "
                           "(TELEGRAM_API_SERVER)."),
        "not_video": "Это не видео. Пришлите видеофайл или ссылку на него.",
        "queue_empty": "В очереди нет ваших задач.",
        "queue_line": "{id} · {status} · {stage} {percent}% · {title}",
        "caption": "<b>#{rank}</b> · Виральность <b>{score}</b>/100\n{bars}\n⏱ {timecode}",
        "summary": "📈 <b>{title}</b>: оценка по всему стриму, выбранные моменты отмечены.",
        "vote_thanks": "Спасибо, учтено!",
        "pick_other_layout": "Другая раскладка для клипа #{rank}:",
        "rerender_queued": "Перерисовываю клип #{rank}…",
        "retitle_queued": "Пишу новый заголовок для клипа #{rank}…",
        "settings": ("⚙️ По умолчанию: раскладка <b>{layout}</b>, клипов <b>{top_k}</b>, шаблон <b>{template}</b>, "
                     "хук <b>{hook}</b>, цвет <b>{colour}</b>, водяной знак <b>{watermark}</b>.\n"
                     "Водяной знак: /watermark @вашканал (/watermark off — убрать)."),
        "watermark_usage": "Отправьте /watermark и ваш ник, например /watermark @mychannel (не длиннее 40 символов).",
        "settings_saved": "Сохранено.",
        "weights_learnt": ("⚖️ <b>Ваши веса оценки</b>, по {votes} вашим оценкам{template}:\n"
                           "<pre>{table}</pre>\nВ скобках — по умолчанию. «Сбросить» вернёт их."),
        "weights_default": ("⚖️ <b>Веса оценки</b>: по умолчанию{template}.\n<pre>{table}</pre>\n"
                            "Оценивайте клипы 👍/👎 (повторный запрос клипа — как 👍): после {need} "
                            "оценок, и хороших, и плохих, я подстроюсь под ваш вкус. Оценок пока: {have}."),
        "weights_for_template": " (шаблон {name})",
        "weights_reset": "↩️ Сбросить",
        "weights_reset_done": "Веса снова по умолчанию.",
        "stats": ("📊 Задач: {jobs} (готово {done}, ошибок {failed}) · клипов {clips}\n"
                  "Медиана секунд по этапам: {stages}"),
        "too_large_clip": "Клип #{rank} больше, чем Telegram позволяет отправить боту; он сохранён на сервере.",
        "stage_fetch": "скачиваю", "stage_probe": "проверяю файл", "stage_audio": "извлекаю звук",
        "stage_asr": "распознаю речь", "stage_audio_features": "слушаю звук",
        "stage_motion": "смотрю на действие", "stage_enrich": "разбираю сказанное",
        "stage_score": "выбираю моменты", "stage_render": "монтирую клипы", "stage_chat": "читаю чат",
        "stage_subtitles": "уточняю субтитры", "stage_post_kit": "пишу заголовки и хэштеги",
        "chat_attached": ("💬 Лог чата добавлен к <b>{title}</b>: сообщений {count}, зрителей {chatters}. "
                          "Реакции чата учитываются в оценке. Теперь выберите раскладку."),
        "chat_no_request": ("Чтобы учесть чат, сначала пришлите ссылку на VOD, затем файл чата (JSON из "
                            "TwitchDownloader, JSON или CSV из chat-downloader, .live_chat.json с YouTube или "
                            ".txt лог) до выбора раскладки."),
        "chat_too_big": "Лог чата слишком большой; можно до {limit} МБ.",
        "bad_choice": "Такой вариант недоступен. Выберите одну из кнопок или пришлите ссылку ещё раз.",
        "oops": ("⚠️ Что-то пошло не так на нашей стороне, не на вашей. Ошибка записана; "
                 "попробуйте ещё раз чуть позже."),
    },
}


def lang_of(code: str | None) -> str:
    return "ru" if (code or "").lower().startswith(("ru", "uk", "be", "kk")) else "en"


def t(lang: str, key: str, **values: object) -> str:
    table = TEXTS.get(lang, TEXTS["en"])
    return table.get(key, TEXTS["en"][key]).format(**values)
