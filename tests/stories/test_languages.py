"""The whole console journey in each language the bot speaks, with exact replies.

Each language runs its sample program (bot/programs/, bot/programs/languages/): join,
consent, intake, a check-in with a wrong answer re-asked, /schedule, /pause, /progress,
/language, /delete. English presses the yes/no buttons (a button's value is the same in
every language) and types digits; the other languages answer in their own words (consent
"ja", the confidence "sieben", revenue "2.500", an unclear "vielleicht" re-asked naming
"ja / nein", then "ja"), so parsing and the catalogs are proven together; /progress
writes the number the language's way ("2.500"). The full tables of words each language
accepts are the parsing tests'.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from conversations.engine import as_command
from scheduler.clock import ManualClock
from services.enrolment import enrol_client
from services.touchpoints import TouchpointRunner
from tests.conftest import START, Client

PROGRAMS = {
    "en": ("business-coaching-12w.yaml", "business_12w"),
    "de": ("languages/wachstum-12w.de.yaml", "wachstum_12w"),
    "es": ("languages/crece-8s.es.yaml", "crece_8s"),
    "fr": ("languages/croissance-8s.fr.yaml", "croissance_8s"),
    "pt-BR": ("languages/cresca-8s.pt-BR.yaml", "cresca_8s"),
}


@pytest.fixture
def client_in(sqlite_url: str):
    """A client of the sample program in `language`, with no coach, joined by invite code."""
    apps = []

    def _client(language: str) -> Client:
        path, program_id = PROGRAMS[language]
        app = build_app(Settings(database_url=sqlite_url, program=BUNDLED_PROGRAMS / path,
                                 _env_file=None), clock=ManualClock(START), migrate=False)
        apps.append(app)
        enrolled = enrol_client(app.rt, program_id=program_id, name="Ana Lima",
                                zone="Europe/Berlin")
        return Client(app=app, address="ana", enrolled=enrolled)

    yield _client
    for app in apps:
        app.db.dispose()


def talk(client: Client, typed: str) -> list[str]:
    """Type `typed` ("!yes" presses the button of that value) a little after the last one."""
    client.app.rt.clock.advance(timedelta(seconds=10))  # a person's pace, under the flood limit
    if typed.startswith("!"):
        return client.presses(typed[1:])
    assert client.enrolled is not None
    return client.says(typed.format(code=client.enrolled.code))


JOURNEYS = {
    "en": [
        ('/start {code}', [
            'Hi Ana, welcome to Grow: 12-week business coaching! A few '
            'questions to get to know you.'
            '\n\n'
            "Before we start: I'll ask about your goals and, each week, how "
            'your business is going (confidence, revenue, what you did and '
            'what got in the way). Your answers are stored securely and seen '
            'only by you, your coach and the small program team, to tailor '
            'your coaching and spot when you need support. You can ask to see '
            'or erase all of it at any time, and /privacy shows this note '
            'again.\n\nAre you happy to go ahead on that basis?',
        ]),
        ('!yes', [
            'In your own words: what would make these 12 weeks a success for you?',
        ]),
        ('Double my revenue', [
            'Roughly what is your monthly revenue today? (EUR per month)',
        ]),
        ('12000', [
            "How confident are you that you'll reach that goal? (1-10: 1 = not "
            'at all, 10 = completely)',
        ]),
        ('6', [
            'How many hours a week can you give to the program? (hours)',
        ]),
        ('10', [
            "When is your first coaching session booked?  /skip if you'd rather not say",
        ]),
        ('/skip', [
            'Thank you, Ana. Your coach will read this before your first session.',
            'Your first weekly check-in is ready: send /checkin to do it now '
            "(it takes about two minutes), or I'll ask you on Monday at 09:00.",
        ]),
        ('/checkin', [
            'Week 1 check-in. Five quick questions.'
            '\n\n'
            'How confident do you feel about your goal this week? (1-10: 1 = '
            'stuck, 10 = flying)',
        ]),
        ('12', [
            "Sorry, I didn't get that. Please answer with a number from 1 to "
            '10.\nHow confident do you feel about your goal this week? (1-10: 1 '
            '= stuck, 10 = flying)',
        ]),
        ('7', [
            'What revenue did you bring in this week? (EUR)',
        ]),
        ('2500', [
            'Did you do the outreach you planned?',
        ]),
        ('!yes', [
            'Where will you put most of your energy next week?',
        ]),
        ('1', [
            "Anything you'd like your coach to know?  /skip if you'd rather not say",
        ]),
        ('/skip', [
            "Thanks, Ana! Your coach will see this in tomorrow's digest.",
        ]),
        ('/schedule tue 18:30', [
            'Done: your weekly check-in is now every Tuesday at 18:30.',
        ]),
        ('/pause', [
            "Paused. I won't send check-ins or reminders until you send "
            '/resume. Enjoy the break!',
        ]),
        ('/progress', [
            'Weekly revenue: ▄  (latest 2,500)\nCheck-ins completed: 1. Current '
            'streak: 1 in a row.',
        ]),
        ('/language', [
            'I speak English with you. I can speak: en, de, es, fr, pt-BR. To '
            'change it, send, for example: /language de',
        ]),
        ('/language xx', [
            'I don\'t speak "xx" yet. I can speak: en, de, es, fr, pt-BR. Send, '
            'for example: /language de',
        ]),
        ('/delete', [
            'This erases everything I keep about you: your answers, progress, '
            "conversations and how to reach you. It can't be undone, and your "
            'coach will be told. To go ahead, send: /delete confirm\n(Send '
            "/mydata first if you'd like a copy.)",
        ]),
        ('/delete confirm', [
            'Done: everything I kept about you is erased. Thank you for taking '
            'part, and take care!',
        ]),
    ],
    "de": [
        ('/start {code}', [
            'Hallo Ana, willkommen bei Wachstum: 12 Wochen Business-Coaching! '
            'Ein paar Fragen, damit wir dich kennenlernen.'
            '\n\n'
            'Bevor wir anfangen: Ich frage dich nach deinen Zielen und jede '
            'Woche, wie es in deinem Business läuft (Zuversicht, Umsatz, was '
            'du getan hast und was dir im Weg stand). Deine Antworten werden '
            'sicher gespeichert und nur von dir, deinem Coach und dem kleinen '
            'Programmteam gesehen, um dein Coaching anzupassen und zu merken, '
            'wann du Unterstützung brauchst. Du kannst jederzeit alles '
            'einsehen oder löschen lassen, und /privacy zeigt diesen Hinweis '
            'noch einmal.\n\nBist du damit einverstanden, auf dieser Grundlage '
            'weiterzumachen?',
        ]),
        ('ja', [
            'In deinen eigenen Worten: Was würde diese 12 Wochen für dich zu '
            'einem Erfolg machen?',
        ]),
        ('Meinen Umsatz verdoppeln', [
            'Wie hoch ist dein monatlicher Umsatz heute ungefähr? (EUR pro Monat)',
        ]),
        ('12000', [
            'Wie zuversichtlich bist du, dass du dieses Ziel erreichst? (1-10: '
            '1 = gar nicht, 10 = völlig)',
        ]),
        ('6', [
            'Wie viele Stunden pro Woche kannst du dem Programm widmen? (Stunden)',
        ]),
        ('10', [
            'Wann ist deine erste Coaching-Sitzung gebucht?  /skip, wenn du es '
            'lieber nicht sagen möchtest',
        ]),
        ('/skip', [
            'Danke, Ana. Dein Coach liest das vor deiner ersten Sitzung.',
            'Dein erster wöchentlicher Check-in ist bereit: Sende /checkin, um '
            'ihn jetzt zu machen (dauert etwa zwei Minuten), sonst frage ich '
            'dich am Montag um 09:00.',
        ]),
        ('/checkin', [
            'Check-in für Woche 1. Fünf kurze Fragen.'
            '\n\n'
            'Wie zuversichtlich bist du diese Woche in Bezug auf dein Ziel? '
            '(1-10: 1 = festgefahren, 10 = läuft super)',
        ]),
        ('12', [
            'Entschuldige, das habe ich nicht verstanden. Bitte antworte so: '
            'eine Zahl von 1 bis 10.\nWie zuversichtlich bist du diese Woche in '
            'Bezug auf dein Ziel? (1-10: 1 = festgefahren, 10 = läuft super)',
        ]),
        ('sieben', [
            'Wie viel Umsatz hast du diese Woche gemacht? (EUR)',
        ]),
        ('2.500', [
            'Hast du die geplante Akquise gemacht?',
        ]),
        ('vielleicht', [
            'Entschuldige, das habe ich nicht verstanden. Bitte antworte mit ja / '
            'nein.\nHast du die geplante Akquise gemacht?',
        ]),
        ('ja', [
            'Worauf willst du nächste Woche die meiste Energie richten?',
        ]),
        ('1', [
            'Gibt es etwas, das dein Coach wissen sollte?  /skip, wenn du es '
            'lieber nicht sagen möchtest',
        ]),
        ('/skip', [
            'Danke, Ana! Dein Coach sieht das in der morgigen Übersicht.',
        ]),
        ('/schedule tue 18:30', [
            'Erledigt: Dein wöchentlicher Check-in ist jetzt jeden Dienstag um 18:30.',
        ]),
        ('/pause', [
            'Pausiert. Ich schicke dir keine Check-ins oder Erinnerungen, bis '
            'du /resume sendest. Genieß die Pause!',
        ]),
        ('/progress', [
            'Wochenumsatz: ▄  (zuletzt 2.500)\nAbgeschlossene Check-ins: 1. '
            'Aktuelle Serie: 1 in Folge.',
        ]),
        ('/language', [
            'Ich spreche Deutsch mit dir. Ich spreche: en, de, es, fr, pt-BR. '
            'Um das zu ändern, sende zum Beispiel: /language en',
        ]),
        ('/language xx', [
            '„xx“ spreche ich noch nicht. Ich spreche: en, de, es, fr, pt-BR. '
            'Sende zum Beispiel: /language en',
        ]),
        ('/delete', [
            'Damit wird alles gelöscht, was ich über dich speichere: deine '
            'Antworten, dein Fortschritt, unsere Gespräche und wie ich dich '
            'erreiche. Das lässt sich nicht rückgängig machen, und dein Coach '
            'wird informiert. Wenn du sicher bist, sende: /delete '
            'confirm\n(Sende vorher /mydata, wenn du eine Kopie möchtest.)',
        ]),
        ('/delete confirm', [
            'Erledigt: Alles, was ich über dich gespeichert hatte, ist '
            'gelöscht. Danke fürs Mitmachen, und alles Gute!',
        ]),
    ],
    "es": [
        ('/start {code}', [
            'Hola Ana, ¡bienvenido a Crece: 8 semanas de coaching de negocio! '
            'Unas preguntas para conocerte.'
            '\n\n'
            'Antes de empezar: te preguntaré por tus objetivos y, cada semana, '
            'cómo va tu negocio. Tus respuestas se guardan de forma segura y '
            'solo las ven tú, tu coach y el pequeño equipo del programa. '
            'Puedes pedir verlas o borrarlas en cualquier momento; /privacy '
            'muestra esta nota de nuevo.\n\n¿Te parece bien seguir adelante así?',
        ]),
        ('sí', [
            'Con tus palabras: ¿qué haría que estas 8 semanas fueran un éxito para ti?',
        ]),
        ('Duplicar mi facturación', [
            '¿Cuánto facturas al mes, más o menos? (EUR al mes)',
        ]),
        ('12000', [
            '¿Qué confianza tienes en alcanzar ese objetivo? (1-10)',
        ]),
        ('6', [
            'Gracias, Ana. Tu coach lo leerá antes de tu primera sesión.',
            'Tu primer check-in semanal está listo: envía /checkin para '
            'hacerlo ahora (lleva unos dos minutos), o te preguntaré el lunes '
            'a las 09:00.',
        ]),
        ('/checkin', [
            'Check-in de la semana 1. Tres preguntas rápidas.'
            '\n\n'
            '¿Qué confianza tienes esta semana en tu objetivo? (1-10)',
        ]),
        ('12', [
            'Perdona, no lo he entendido. Por favor, responde con un número '
            'del 1 al 10.\n¿Qué confianza tienes esta semana en tu objetivo? (1-10)',
        ]),
        ('siete', [
            '¿Cuánto has facturado esta semana? (EUR)',
        ]),
        ('2.500', [
            '¿Hiciste la prospección que tenías planeada?',
        ]),
        ('quizás', [
            'Perdona, no lo he entendido. Por favor, responde sí / no.\n'
            '¿Hiciste la prospección que tenías planeada?',
        ]),
        ('sí', [
            '¡Gracias, Ana! Tu coach lo verá mañana.',
        ]),
        ('/schedule tue 18:30', [
            'Hecho: tu check-in semanal es ahora cada martes a las 18:30.',
        ]),
        ('/pause', [
            'En pausa. No te enviaré check-ins ni recordatorios hasta que '
            'envíes /resume. ¡Disfruta del descanso!',
        ]),
        ('/progress', [
            'Facturación semanal: ▄  (último 2.500)\nCheck-ins completados: 1. '
            'Racha actual: 1 seguido.',
        ]),
        ('/language', [
            'Te hablo en español. Puedo hablar: en, de, es, fr, pt-BR. Para '
            'cambiarlo, envía, por ejemplo: /language en',
        ]),
        ('/language xx', [
            'Todavía no hablo "xx". Puedo hablar: en, de, es, fr, pt-BR. '
            'Envía, por ejemplo: /language en',
        ]),
        ('/delete', [
            'Esto borra todo lo que guardo sobre ti: tus respuestas, tu '
            'progreso, las conversaciones y cómo contactarte. No se puede '
            'deshacer, y se le avisará a tu coach. Para continuar, envía: '
            '/delete confirm\n(Envía antes /mydata si quieres una copia.)',
        ]),
        ('/delete confirm', [
            'Hecho: todo lo que guardaba sobre ti está borrado. Gracias por '
            'participar, ¡y cuídate!',
        ]),
    ],
    "fr": [
        ('/start {code}', [
            'Bonjour Ana, bienvenue dans Croissance : 8 semaines de coaching '
            "d'entreprise ! Quelques questions pour faire connaissance."
            '\n\n'
            'Avant de commencer : je vous poserai des questions sur vos '
            'objectifs et, chaque semaine, sur la marche de votre entreprise. '
            'Vos réponses sont conservées en sécurité et vues uniquement par '
            'vous, votre coach et la petite équipe du programme. Vous pouvez '
            'demander à tout moment à les consulter ou à les effacer ; '
            "/privacy affiche de nouveau cette note.\n\nÊtes-vous d'accord pour "
            'continuer sur cette base ?',
        ]),
        ('oui', [
            "Avec vos mots : qu'est-ce qui ferait de ces 8 semaines une "
            'réussite pour vous ?',
        ]),
        ("Doubler mon chiffre d'affaires", [
            "Quel est à peu près votre chiffre d'affaires mensuel aujourd'hui "
            '? (EUR par mois)',
        ]),
        ('12000', [
            "À quel point êtes-vous confiant d'atteindre cet objectif ? (1-10)",
        ]),
        ('6', [
            'Merci, Ana. Votre coach lira ceci avant votre première séance.',
            'Votre premier bilan hebdomadaire est prêt : envoyez /checkin pour '
            'le faire maintenant (cela prend environ deux minutes), sinon je '
            'vous le proposerai le lundi à 09:00.',
        ]),
        ('/checkin', [
            'Bilan de la semaine 1. Trois questions rapides.'
            '\n\n'
            'À quel point vous sentez-vous confiant pour votre objectif cette '
            'semaine ? (1-10)',
        ]),
        ('12', [
            "Désolé, je n'ai pas compris. Merci de répondre par un nombre de 1 "
            'à 10.\nÀ quel point vous sentez-vous confiant pour votre objectif '
            'cette semaine ? (1-10)',
        ]),
        ('sept', [
            "Quel chiffre d'affaires avez-vous réalisé cette semaine ? (EUR)",
        ]),
        ('2 500', [
            'Avez-vous fait la prospection prévue ?',
        ]),
        ('peut-être', [
            "Désolé, je n'ai pas compris. Merci de répondre par oui / non.\n"
            'Avez-vous fait la prospection prévue ?',
        ]),
        ('oui', [
            'Merci, Ana ! Votre coach le verra demain.',
        ]),
        ('/schedule tue 18:30', [
            "C'est fait : votre bilan hebdomadaire a maintenant lieu chaque "
            'mardi à 18:30.',
        ]),
        ('/pause', [
            "En pause. Je n'enverrai ni bilans ni rappels jusqu'à ce que vous "
            'envoyiez /resume. Profitez de la pause !',
        ]),
        ('/progress', [
            "Chiffre d'affaires hebdomadaire : ▄  (dernier 2\u202f500)\nBilans "
            "terminés : 1. Série en cours : 1 d'affilée.",
        ]),
        ('/language', [
            'Je vous parle en français. Je parle : en, de, es, fr, pt-BR. Pour '
            'changer, envoyez par exemple : /language en',
        ]),
        ('/language xx', [
            'Je ne parle pas encore « xx ». Je parle : en, de, es, fr, pt-BR. '
            'Envoyez par exemple : /language en',
        ]),
        ('/delete', [
            'Cela efface tout ce que je garde sur vous : vos réponses, votre '
            "progression, nos conversations et la façon de vous joindre. C'est "
            'irréversible, et votre coach en sera informé. Pour confirmer, '
            "envoyez : /delete confirm\n(Envoyez d'abord /mydata si vous "
            'souhaitez une copie.)',
        ]),
        ('/delete confirm', [
            "C'est fait : tout ce que je gardais sur vous est effacé. Merci "
            "d'avoir participé, et prenez soin de vous !",
        ]),
    ],
    "pt-BR": [
        ('/start {code}', [
            'Olá Ana, boas-vindas ao Cresça: 8 semanas de coaching de '
            'negócios! Algumas perguntas para conhecer você.'
            '\n\n'
            'Antes de começar: vou perguntar sobre seus objetivos e, toda '
            'semana, como vai o seu negócio. Suas respostas ficam guardadas '
            'com segurança e só são vistas por você, seu coach e a pequena '
            'equipe do programa. Você pode pedir para ver ou apagar tudo a '
            'qualquer momento; /privacy mostra esta nota de novo.\n\nVocê '
            'concorda em seguir nessas condições?',
        ]),
        ('sim', [
            'Com suas palavras: o que faria destas 8 semanas um sucesso para você?',
        ]),
        ('Dobrar meu faturamento', [
            'Qual é, mais ou menos, o seu faturamento mensal hoje? (BRL por mês)',
        ]),
        ('12000', [
            'Quão confiante você está de que vai alcançar esse objetivo? (1-10)',
        ]),
        ('6', [
            'Obrigado, Ana. Seu coach vai ler isto antes da sua primeira sessão.',
            'Seu primeiro check-in semanal está pronto: envie /checkin para '
            'fazer agora (leva uns dois minutos), ou vou perguntar '
            'segunda-feira às 09:00.',
        ]),
        ('/checkin', [
            'Check-in da semana 1. Três perguntas rápidas.'
            '\n\n'
            'Quão confiante você se sente sobre o seu objetivo esta semana? (1-10)',
        ]),
        ('12', [
            'Desculpe, não entendi. Por favor, responda com um número de 1 a '
            '10.\nQuão confiante você se sente sobre o seu objetivo esta semana? (1-10)',
        ]),
        ('sete', [
            'Quanto você faturou esta semana? (BRL)',
        ]),
        ('2.500', [
            'Você fez a prospecção que tinha planejado?',
        ]),
        ('talvez', [
            'Desculpe, não entendi. Por favor, responda sim / não.\n'
            'Você fez a prospecção que tinha planejado?',
        ]),
        ('sim', [
            'Obrigado, Ana! Seu coach vai ver isto amanhã.',
        ]),
        ('/schedule tue 18:30', [
            'Pronto: seu check-in semanal agora será terça-feira, às 18:30, '
            'toda semana.',
        ]),
        ('/pause', [
            'Pausado. Não vou enviar check-ins nem lembretes até você enviar '
            '/resume. Aproveite a pausa!',
        ]),
        ('/progress', [
            'Faturamento semanal: ▄  (último 2.500)\nCheck-ins concluídos: 1. '
            'Sequência atual: 1 seguido.',
        ]),
        ('/language', [
            'Falo com você em português (Brasil). Sei falar: en, de, es, fr, '
            'pt-BR. Para mudar, envie, por exemplo: /language en',
        ]),
        ('/language xx', [
            'Ainda não falo "xx". Sei falar: en, de, es, fr, pt-BR. Envie, por '
            'exemplo: /language en',
        ]),
        ('/delete', [
            'Isto apaga tudo o que guardo sobre você: suas respostas, seu '
            'progresso, as conversas e como falar com você. Não pode ser '
            'desfeito, e seu coach será avisado. Para continuar, envie: '
            '/delete confirm\n(Envie /mydata antes se quiser uma cópia.)',
        ]),
        ('/delete confirm', [
            'Pronto: tudo o que eu guardava sobre você foi apagado. Obrigado '
            'por participar, e se cuide!',
        ]),
    ],
}


@pytest.mark.parametrize("language", list(JOURNEYS))
def test_the_whole_journey_in_the_clients_language(client_in, language):
    client = client_in(language)
    for typed, expected in JOURNEYS[language]:
        assert talk(client, typed) == expected, typed


def test_a_client_chooses_another_language_and_is_answered_in_it(client_in):
    client = client_in("en")
    talk(client, "/start {code}")
    talk(client, "!yes")
    assert talk(client, "/language de") == ["Erledigt: Ab jetzt spreche ich Deutsch mit dir."]
    assert talk(client, "/skip") == ["Diese Frage kann man leider nicht überspringen.\n"
                                     "In your own words: what would make these 12 weeks a "
                                     "success for you?"]
    assert talk(client, "/language pt_br") == [
        "Pronto: a partir de agora falo com você em português."]


def test_the_catch_up_line_and_the_reminder_come_in_the_programs_language(client_in):
    client = client_in("de")
    for typed in ["/start {code}", "!yes", "Umsatz verdoppeln", "12000", "6", "10", "/skip"]:
        talk(client, typed)
    runner = TouchpointRunner(client.app.rt, worker="test-worker")
    clock = client.app.rt.clock
    question = ("Wie zuversichtlich bist du diese Woche in Bezug auf dein Ziel? "
                "(1-10: 1 = festgefahren, 10 = läuft super)")
    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))  # an hour after the check-in was due
    runner.tick(clock.now())
    assert [r.text for r in client.flush()] == [
        "Nachgereicht: Das hätte dich etwas früher erreichen sollen, entschuldige die "
        "Verspätung.\n\nCheck-in für Woche 2. Fünf kurze Fragen.\n\n" + question]
    clock.set(datetime(2026, 3, 10, 9, 5, tzinfo=UTC))
    runner.tick(clock.now())
    assert [r.text for r in client.flush()] == [
        f"Eine kleine Erinnerung, Ana: Wochen-Check-in ist noch offen.\n{question}"]


def test_a_stranger_and_a_flooding_client_hear_the_programs_language(client_in):
    client = client_in("fr")
    stranger = Client(app=client.app, address="who")
    assert stranger.says("bonjour") == [
        "Bonjour ! Je ne vous connais pas encore. coachbot est réservé aux clients d'un "
        "programme de coaching : demandez à votre coach votre lien (ou code) d'invitation "
        "personnel, puis envoyez /start suivi du code."]
    talk(client, "/start {code}")
    said = [text for _ in range(client.app.settings.flood_limit + 1)
            for text in client.says("/help")]
    assert said[-1] == ("Vous envoyez des messages plus vite que je ne peux les lire — "
                        "ralentissez, s'il vous plaît ; je vous répondrai à nouveau dans une "
                        "minute.")


def test_in_slack_the_plain_word_language_chooses_one():
    assert as_command("Language de") == "/language de"
    assert as_command("language") == "/language"


def test_the_data_export_summary_comes_in_the_clients_language(client_in):
    client = client_in("de")
    talk(client, "/start {code}")
    talk(client, "!yes")
    [summary] = talk(client, "/mydata")
    assert summary.startswith(
        "Hier ist alles, was ich über dich speichere (als JSON angehängt): 1 Antwort, "
        "1 Gespräch, 0 Fortschrittswerte, wie ich dich erreiche (test), dein Name und deine "
        "Zeitzone. Du hast am 2026-03-02 zugestimmt.")
