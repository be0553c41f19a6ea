/** The web API's error texts in Dutch (keys: api.en.ts). Endpoints, settings and protocol words stay as they are. */
import type { apiEn } from './api.en.js';

export const apiNl: Record<keyof typeof apiEn, string> = {
  text: '{problem}',
  'request.refused': 'verzoek geweigerd',
  'server.internal': 'interne serverfout; het serverlog bevat de details',
  'api.noEndpoint': 'er is geen API-endpoint {method} {path}; docs/web-api.md beschrijft de endpoints',
  'auth.notLoggedIn': 'niet aangemeld: POST /api/login met {username, password}',
  'auth.adminOnly':
    'hiervoor is een beheerdersaccount nodig (maak er een aan met "postbode admin add NAAM" en meld je daarmee aan)',
  'auth.adminNoMailbox': 'een beheerder heeft geen mailbox; geef een account op',
  'auth.ownMailOnly': 'je bent aangemeld als {name} en mag alleen je eigen mail bekijken',
  'csrf.header':
    '{method}-verzoeken moeten Content-Type: application/json of de header X-Postbode: 1 meesturen (bescherming tegen cross-site requests)',
  'login.giveName': 'geef je beheerdersnaam of mailadres op',
  'login.givePassword': 'geef je wachtwoord op',
  'login.wrong':
    'verkeerde naam of verkeerd wachtwoord (beheerders gebruiken hun beheerdersnaam, gebruikers hun mailadres)',
  'login.tooManySessions':
    'de server heeft te veel open websessies; probeer het later opnieuw (een beheerder kan de server herstarten om ze te wissen)',
  'body.notJson': 'de inhoud van het verzoek is geen geldige JSON; stuur een JSON-object',
  'body.invalid': 'ongeldig verzoek: {problems}',
  'body.contentLength': 'de header Content-Length is geen getal',
  'body.tooLarge':
    'de inhoud van het verzoek is groter dan de limiet van {size} (web.max_body_size); de API verwacht kleine JSON-objecten',
  'body.busy': 'de server ontvangt te veel grote verzoeken tegelijk; probeer het over een paar seconden opnieuw',
  'size.mb': '{n} MB',
  'size.kb': '{n} KB',
  'size.bytes': '{n} bytes',
  'stream.perUser':
    'te veel livestreams: {name} heeft er {open} open, de limiet is {limit} per gebruiker (web.streams_per_user); sluit andere tabbladen van het weblab en laad de pagina opnieuw',
  'stream.total':
    'te veel livestreams: er zijn er {open} open op deze server, de limiet is {limit} (web.max_streams); probeer het later opnieuw',
  'stream.needsNode': 'livestreams hebben de HTTP-server van node nodig',
  'lab.noRecorder': 'de sessierecorder draait niet; herstart postbode',
  'lab.noSession':
    'geen sessie {id}: ze heeft nooit bestaan of staat niet meer in de geschiedenis (web.history_sessions)',
  'lab.notYours': 'sessie {id} is niet van jou: je ziet alleen sessies waarin je je als {name} aanmeldde',
  'lab.badProto': 'onbekend protocol "{proto}" in ?proto=; gebruik smtp, pop3, imap of managesieve',
  'lab.badLimit': '?limit= moet een geheel getal van 1 tot 1000 zijn',
  'lab.passwordsAdminOnly': 'alleen een beheerder mag een capture met de wachtwoorden erin downloaden',
  'lab.passwordsTls': 'sessie {id} gebruikte TLS: haar wachtwoorden worden nooit bewaard',
  'lab.noPasswords':
    'geen wachtwoorden bewaard voor sessie {id}: ze stuurde er geen, of lab.capture_passwords stond uit toen ze werd opgenomen',
  'lab.noKeylog':
    'geen TLS-sleutellog voor sessie {id}: het loggen van sleutels stond uit toen ze begon, ze gebruikte geen TLS, of de server is sindsdien herstart (zet het aan met PUT /api/keylog {"enabled": true} en maak dan opnieuw verbinding)',
  'lab.keylogUnavailable': 'het loggen van TLS-sleutels is niet beschikbaar; herstart postbode',
  'lab.noBatch':
    'deze reeks labaccounts bestaat niet: reeksen worden een uur na het aanmaken bewaard (en niet over een herstart heen); stel de wachtwoorden opnieuw in met POST /api/users/ADRES/password',
  'lab.prefixTooLong': '"{address}" is geen geldig adres: {problem}; kies een korter voorvoegsel',
  'exercises.noRecorder':
    'de oefeningen worden gecontroleerd door de sessierecorder, en die draait niet; herstart postbode',
  'account.none': 'er is geen account {address}; GET /api/users geeft de accounts',
  'mail.noMailbox': 'er is geen mailbox {mailbox} in {address}; GET /api/mail/{address}/mailboxes geeft ze',
  'mail.badUid': 'de UID van het bericht moet een positief geheel getal zijn',
  'mail.badPart': 'deel "{part}" is geen deelnummer; gebruik nummers zoals 1 of 2.1 uit de MIME-boom van het bericht',
  'mail.noPart': 'bericht {uid} heeft geen deel {part}; bekijk de MIME-boom',
  'mail.container': 'deel {part} is een container van het type {type}; download een van de delen erin',
  'mail.noMessage': 'er is geen bericht met UID {uid} in {mailbox} (ge-expunged of nooit aanwezig geweest)',
  'query.wholeNumber': '?{name}= moet een geheel getal van 0 tot {max} zijn',
  'queue.badId': '"{id}" is geen id van een bericht in de wachtrij; GET /api/queue geeft ze',
  'queue.gone':
    'er is geen bericht {id} in de wachtrij: het is intussen afgeleverd, teruggestuurd of verwijderd; GET /api/queue geeft wat er nog staat',
  'sieve.tooBig': 'het script is {size} bytes; de limiet is {limit} bytes (sieve.max_script_bytes): maak het korter',
  'sieve.tooBigCheck': 'het script is {size} bytes; de limiet is {limit} bytes',
  'sieve.tooMany': '{address} heeft {count} scripts, het maximum (sieve.max_scripts = {limit}): verwijder er eerst een',
  'sieve.activeNotDeleted':
    '"{name}" is het actieve script en kan niet verwijderd worden: activeer eerst een ander script of geen enkel (PUT /api/sieve/{address}/active)',
  'sieve.nameTaken': 'er is al een script "{name}": kies een andere naam of verwijder dat script eerst',
  'sieve.handEdited':
    'het script "{name}" is met de hand aangepast sinds het formulier het schreef; stuur "overwrite": true om het te vervangen door de regels van het formulier (de aanpassingen gaan dan verloren)',
  'sieve.badName': '{problem}; geef het script een naam zoals "filters"',
  'sieve.noScript': '{address} heeft geen script "{name}"; GET /api/sieve/{address} geeft de scripts',
  'sieve.compileOne': 'het script bevat een fout en is niet opgeslagen; regel {line}, kolom {column}: {message}',
  'sieve.compileMany': 'het script bevat {count} fouten en is niet opgeslagen; regel {line}, kolom {column}: {message}',
  'sieve.compileUnknown': 'het script bevat 0 fouten en is niet opgeslagen; onbekende fout',
  'domain.exists': '{name} is al een lokaal domein',
  'domain.hasAccount':
    '{name} heeft nog 1 account: verwijder dat eerst, of stuur DELETE /api/domains/{name}?force=1 om toch geen mail meer voor het domein aan te nemen',
  'domain.hasAccounts':
    '{name} heeft nog {count} accounts: verwijder die eerst, of stuur DELETE /api/domains/{name}?force=1 om toch geen mail meer voor het domein aan te nemen',
  'domain.notLocal': '{name} is geen lokaal domein (GET /api/domains geeft ze)',
  'user.exists': 'gebruiker {address} bestaat al (POST /api/users/{address}/password stelt een nieuw wachtwoord in)',
  'user.none': 'er is geen gebruiker {address} (GET /api/users geeft ze)',
  'alias.none': 'er is geen alias {alias} (GET /api/aliases geeft ze)',
  'alias.badCatchAll': '"{alias}" is geen geldige catch-all: verwacht werd @domein',
  'zod.domainString': 'geef een domeinnaam op als string, bijv. "class.example"',
  'zod.domain': 'verwacht werd een domeinnaam zoals example.org: {problem}',
  'zod.addressString': 'geef een mailadres op als string, bijv. "student01@class.example"',
  'zod.address': '"{value}" is geen geldig adres: {problem}',
  'zod.quotaNumber': 'quotaBytes moet een aantal bytes zijn (bijv. 524288000 voor 500 MiB), of null voor geen quotum',
  'zod.quotaWhole': 'quotaBytes moet een geheel aantal bytes zijn',
  'zod.quotaPositive': 'quotaBytes moet positief zijn, of null voor geen quotum',
  'zod.oneTarget': 'geef minstens één doeladres op',
  'zod.countNumber': 'geef het aantal accounts op als getal, bijv. 30',
  'zod.countWhole': 'count moet een geheel getal zijn',
  'zod.countRange': 'count moet van 1 tot 500 zijn',
  'zod.prefix': 'begin met een letter; daarna letters, cijfers, ".", "_" of "-"; hoogstens 40 tekens',
  'zod.patternString':
    'geef de accounts op als patroon, bijv. {"accounts": "student*@class.example"} ("*" voor allemaal)',
  'zod.patternEmpty': 'geef de accounts op als patroon, bijv. student*@class.example ("*" voor allemaal)',
  'zod.addressList':
    'geef de te verwijderen adressen op als lijst: de adressen die POST /api/class-reset/preview teruggaf',
  'zod.oneAddress':
    'geef minstens één adres op (POST /api/class-reset/preview geeft de adressen die een patroon kiest)',
  'zod.manyAddresses': 'hoogstens 10.000 adressen tegelijk',
  'problem.password.empty': 'het wachtwoord mag niet leeg zijn',
  'problem.password.short': 'het wachtwoord is te kort: minstens {min} tekens (auth.min_password_length)',
  'problem.throttled.address':
    'Te veel aanmeldpogingen vanaf jouw adres; wacht {seconds} s en probeer het opnieuw (mislukte aanmeldingen vertragen volgende pogingen)',
  'problem.throttled.account':
    'Te veel mislukte aanmeldingen op dit account vanaf andere adressen; wacht {seconds} s en probeer het opnieuw, of meld je aan vanaf een adres dat je al eerder gebruikte',
  'problem.address.long': 'het adres is langer dan 254 tekens',
  'problem.address.shape': 'verwacht werd lokaal-deel@domein',
  'problem.address.localLong': 'het lokale deel is langer dan 64 tekens',
  'problem.address.utf8': 'niet-ASCII-tekens vereisen de parameter SMTPUTF8 (RFC 6531)',
  'problem.address.quoting': 'het lokale deel bevat tekens die tussen aanhalingstekens moeten staan',
  'problem.address.literal': 'ongeldige adresliteral',
  'problem.domain.invalid': '"{name}" is geen geldige domeinnaam',
  'problem.domain.empty': 'de domeinnaam is leeg',
  'problem.domain.at': 'geef het domein zonder "@", bijv. example.org',
  'problem.domain.idna': '"{name}" is geen geldige domeinnaam (IDNA)',
  'problem.domain.long': '"{name}" is langer dan 253 tekens',
  'problem.domain.ldh':
    '"{name}" is geen geldige domeinnaam: gebruik letters, cijfers en "-" tussen de punten, bijv. example.org',
  'problem.domain.ip': '"{name}" lijkt op een IP-adres, niet op een domeinnaam',
  'problem.sieveName.empty': 'de naam van een script mag niet leeg zijn',
  'problem.sieveName.long': 'de naam van het script is {chars} tekens lang; de limiet is {limit}',
  'problem.sieveName.control': 'de naam van een script mag geen stuurtekens of regelscheidingstekens bevatten',
  'problem.sieveName.unicode': 'de naam van het script is geen geldige Unicode',
  'problem.sieveName.nfc': 'de naam van het script staat niet in Unicode-normalisatievorm C (RFC 5804 §1.6)',
  'problem.alias.notLocal':
    '{domain} is geen lokaal domein, dus {alias} kan hier geen alias zijn: mail aan {domain} wordt afgeleverd bij de eigen servers van dat domein. Het lokaal maken zou al zijn mail naar hier halen, en geen enkele gebruiker zou nog kunnen mailen naar iemand bij {domain}. Is deze server bedoeld om mail voor {domain} te ontvangen, voeg dan eerst het domein toe ({howTo}).',
  'problem.alias.self': '{alias} kan geen alias van zichzelf zijn',
  'problem.alias.unknownTarget':
    '{target} is geen account en geen alias (en {domain} heeft geen catch-all): voeg eerst de gebruiker of de alias toe, of geef een adres van een ander domein',
  'problem.alias.loop': '{alias} -> {targets} zou een lus maken: {loop}',
  'problem.rules.headerLong': 'de naam van de header is langer dan {max} tekens',
  'problem.rules.headerLine': 'de naam van de header mag geen regeleinden of stuurtekens bevatten',
  'problem.rules.valueLong': 'de tekst om naar te zoeken is langer dan {max} tekens',
  'problem.rules.valueLine': 'de tekst om naar te zoeken mag geen regeleinden of stuurtekens bevatten',
  'problem.rules.folderLong': 'de naam van de map is langer dan {max} tekens',
  'problem.rules.folderLine': 'de naam van de map mag geen regeleinden of stuurtekens bevatten',
  'problem.rules.subjectLong': 'het onderwerp is langer dan {max} tekens',
  'problem.rules.subjectLine': 'het onderwerp mag geen regeleinden of stuurtekens bevatten',
  'problem.rules.value': 'zeg naar welke tekst gezocht moet worden',
  'problem.rules.header':
    'geef de naam van de header die getest wordt, bijv. List-Id (letters, cijfers en koppeltekens; geen dubbele punt)',
  'problem.rules.fileOrDiscard': 'een filter zet het bericht in een map of gooit het weg, niet allebei',
  'problem.rules.folderEmpty': 'de naam van de map is leeg; laat hem dan weg',
  'problem.rules.noAction':
    'een filter heeft een actie nodig: een map, een vlag, als gelezen markeren, weggooien of stoppen',
  'problem.rules.startDate': 'de begindatum moet eruitzien als 2026-12-24',
  'problem.rules.endDate': 'de einddatum moet eruitzien als 2026-12-24',
  'problem.rules.textLong': 'de tekst van het antwoord is langer dan 10.000 tekens',
  'problem.rules.textControl': 'de tekst van het antwoord mag geen stuurtekens bevatten',
  'problem.rules.textEmpty': 'schrijf de tekst van het antwoord',
  'problem.rules.daysWhole': 'days moet een geheel getal zijn',
  'problem.rules.daysMin': 'days moet minstens 1 zijn',
  'problem.rules.daysMax': 'days kan hoogstens 60 zijn: een afzender krijgt uiterlijk na 60 dagen opnieuw een antwoord',
  'problem.rules.endBeforeStart': 'de einddatum {end} ligt vóór de begindatum {start}',
  'problem.rules.tooMany': 'hoogstens {max} filters',
  'problem.classReset.noPattern':
    'geef de te verwijderen accounts op als patroon, bijv. student*@class.example (* voor allemaal)',
  'problem.classReset.tooLong': 'het patroon voor de accounts is te lang (hoogstens 320 tekens)',
};
