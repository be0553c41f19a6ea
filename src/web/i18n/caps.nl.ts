/** The capability explainer's texts in Dutch (keys: caps.en.ts). Keywords, commands and RFC names stay as they are. */
import type { capsEn } from './caps.en.js';

export const capsNl: Record<keyof typeof capsEn, string> = {
  'cap.smtp.PIPELINING.summary': 'De client mag meerdere commando’s sturen zonder op elk antwoord te wachten',
  'cap.smtp.PIPELINING.effect':
    'MAIL, RCPT en DATA kunnen in één keer verstuurd worden; de antwoorden komen in dezelfde volgorde terug, zodat de client ze één voor één koppelt. Dat spaart heen-en-weerverkeer op trage verbindingen.',
  'cap.smtp.SIZE.summary': 'Het grootste bericht dat de server aanneemt, in bytes',
  'cap.smtp.SIZE.effect':
    'De client kan de grootte vooraf opgeven met MAIL FROM:<…> SIZE=n en hoort dan meteen (552 of 452) dat een bericht te groot is, in plaats van pas nadat alles verstuurd is.',
  'cap.smtp.8BITMIME.summary': 'De berichtinhoud mag 8-bitbytes bevatten (bijv. UTF-8-tekst) zonder codering',
  'cap.smtp.8BITMIME.effect':
    'De client mag BODY=8BITMIME bij MAIL FROM meegeven en 8-bittekst zo versturen, in plaats van als quoted-printable of base64.',
  'cap.smtp.SMTPUTF8.summary': 'Adressen en headervelden mogen in UTF-8 (internationale e-mail)',
  'cap.smtp.SMTPUTF8.effect':
    'Met MAIL FROM:<…> SMTPUTF8 mag de client adressen zoals jörg@example.test en UTF-8-headers gebruiken.',
  'cap.smtp.ENHANCEDSTATUSCODES.summary': 'Antwoorden hebben na de gewone code een uitgebreide statuscode (RFC 3463)',
  'cap.smtp.ENHANCEDSTATUSCODES.effect':
    'Elke antwoordregel begint met klasse.onderwerp.detail, bijv. 5.1.1 voor “ongeldige bestemmingsmailbox”; dat zegt preciezer wat er gebeurde dan de code van drie cijfers.',
  'cap.smtp.CHUNKING.summary': 'Het bericht mag met BDAT in afgetelde stukken verstuurd worden in plaats van met DATA',
  'cap.smtp.CHUNKING.effect':
    'BDAT n stuurt precies n bytes, zonder dot-stuffing en zonder eindregel; het laatste stuk zegt LAST. Elk stuk krijgt een eigen antwoord.',
  'cap.smtp.BINARYMIME.summary': 'De berichtinhoud mag binaire gegevens bevatten (alleen met BDAT)',
  'cap.smtp.BINARYMIME.effect':
    'MAIL FROM:<…> BODY=BINARYMIME, daarna het bericht in BDAT-stukken, zonder base64-codering.',
  'cap.smtp.DSN.summary': 'Afleverberichten (DSN): de afzender kiest welke afleverrapporten hij krijgt',
  'cap.smtp.DSN.effect':
    'RCPT TO:<…> NOTIFY=SUCCESS,FAILURE vraagt om rapporten; MAIL FROM:<…> RET=HDRS ENVID=… zegt wat het rapport terugstuurt en waaraan je het herkent.',
  'cap.smtp.STARTTLS.summary': 'De verbinding kan omgeschakeld worden naar TLS-versleuteling',
  'cap.smtp.STARTTLS.effect':
    'Na STARTTLS en het antwoord 220 doen beide kanten een TLS-handshake; daarna begint de client opnieuw met EHLO. De lijst met extensies kan veranderen (AUTH verschijnt meestal pas na STARTTLS).',
  'cap.smtp.AUTH.summary': 'De client mag inloggen met een van de genoemde SASL-mechanismen',
  'cap.smtp.AUTH.effect':
    'AUTH PLAIN stuurt gebruikersnaam en wachtwoord in base64 (zonder TLS leesbaar voor iedereen op de lijn); AUTH LOGIN vraagt ze in twee 334-stappen. Submission (poort 587) vereist inloggen vóór MAIL.',
  'cap.smtp.HELP.summary': 'De server beantwoordt HELP met een lijst van commando’s',
  'cap.smtp.HELP.effect':
    'HELP of HELP <commando> geeft 214-regels tekst, bedoeld voor mensen die SMTP met de hand typen.',
  'cap.smtp.VRFY.summary': 'De server beantwoordt VRFY (een gebruikersnaam controleren)',
  'cap.smtp.VRFY.effect':
    'De meeste servers antwoorden 252 zonder te zeggen of de gebruiker bestaat, tegen het verzamelen van adressen.',
  'cap.smtp.REQUIRETLS.summary': 'De afzender kan TLS eisen op elke stap die het bericht aflegt',
  'cap.smtp.REQUIRETLS.effect':
    'MAIL FROM:<…> REQUIRETLS: elke server onderweg moet gecontroleerde TLS gebruiken, anders komt het bericht terug als onbestelbaar.',
  'cap.pop3.TOP.summary': 'TOP geeft de header van een bericht en de eerste n regels van de body',
  'cap.pop3.TOP.effect':
    'Een client kan een lijst van berichten tonen (From, Subject) zonder ze helemaal te downloaden.',
  'cap.pop3.UIDL.summary': 'UIDL geeft elk bericht een blijvende unieke id',
  'cap.pop3.UIDL.effect':
    'Berichtnummers veranderen tussen sessies; de unieke id niet, zodat clients die “berichten op de server laten” weten wat ze al gedownload hebben.',
  'cap.pop3.RESP-CODES.summary': 'Foutantwoorden mogen een code tussen haken hebben, bijv. -ERR [IN-USE]',
  'cap.pop3.RESP-CODES.effect':
    'Aan de code, niet aan de tekst, ziet een client het verschil tussen “mailbox vergrendeld door een andere sessie” of “serverprobleem” en “verkeerd wachtwoord”.',
  'cap.pop3.AUTH-RESP-CODE.summary': 'Een mislukte login zegt [AUTH] als de inloggegevens fout zijn',
  'cap.pop3.AUTH-RESP-CODE.effect':
    'De client vraagt de gebruiker alleen om een nieuw wachtwoord als het antwoord [AUTH] zegt; [SYS/TEMP] betekent: probeer het later opnieuw.',
  'cap.pop3.PIPELINING.summary': 'De client mag meerdere commando’s sturen zonder op elk antwoord te wachten',
  'cap.pop3.PIPELINING.effect': 'Bijvoorbeeld veel RETR-commando’s in één keer; de antwoorden komen in volgorde terug.',
  'cap.pop3.EXPIRE.summary':
    'Hoe lang de server berichten bewaart nadat ze opgehaald zijn (NEVER: tot ze verwijderd worden)',
  'cap.pop3.EXPIRE.effect':
    'EXPIRE NEVER vertelt clients die “berichten op de server laten” dat de server opgehaalde mail niet zelf verwijdert.',
  'cap.pop3.LOGIN-DELAY.summary': 'Het minimale aantal seconden tussen twee logins',
  'cap.pop3.LOGIN-DELAY.effect': 'Een client hoort niet vaker te pollen dan dit.',
  'cap.pop3.USER.summary': 'Inloggen mag met USER en PASS (het wachtwoord gaat mee zoals het getypt is)',
  'cap.pop3.USER.effect':
    'Alleen aangeboden waar inloggen in platte tekst mag (na STLS, op poort 995, of op loopback in labmodus).',
  'cap.pop3.SASL.summary': 'Inloggen mag met AUTH en een van de genoemde SASL-mechanismen',
  'cap.pop3.SASL.effect':
    'AUTH PLAIN stuurt gebruiker en wachtwoord in base64 op één regel (RFC 5034); de server kan met “+ ”-regels om meer vragen.',
  'cap.pop3.STLS.summary': 'De verbinding kan omgeschakeld worden naar TLS-versleuteling',
  'cap.pop3.STLS.effect':
    'Na STLS en +OK doen beide kanten een TLS-handshake; daarna vraagt de client opnieuw CAPA, die nu USER en SASL kan aanbieden.',
  'cap.pop3.IMPLEMENTATION.summary': 'De serversoftware en haar versie',
  'cap.pop3.IMPLEMENTATION.effect': 'Alleen ter informatie; clients mogen hun gedrag er niet op aanpassen.',
  'cap.imap.IMAP4rev1.summary': 'De server spreekt IMAP4rev1 (de versie die de meeste clients gebruiken)',
  'cap.imap.IMAP4rev1.effect':
    'Clients die IMAP4rev2 niet met ENABLE aanzetten, krijgen het gedrag van IMAP4rev1: \\Recent, het SEARCH-antwoord, LSUB.',
  'cap.imap.IMAP4rev2.summary': 'De server spreekt ook IMAP4rev2, de huidige versie van IMAP',
  'cap.imap.IMAP4rev2.effect':
    'Na ENABLE IMAP4rev2 beantwoordt de server SEARCH met ESEARCH, laat hij \\Recent weg en gebruikt hij UTF-8-mailboxnamen.',
  'cap.imap.LITERAL+.summary':
    'Niet-synchroniserende literals: de client mag {n+}-gegevens sturen zonder op “+” te wachten',
  'cap.imap.LITERAL+.effect':
    'APPEND en andere commando’s met literals hoeven niet per literal op antwoord te wachten.',
  'cap.imap.LITERAL-.summary': 'Niet-synchroniserende literals tot 4096 bytes',
  'cap.imap.LITERAL-.effect': 'Zoals LITERAL+, maar alleen kleine literals mogen het wachten op “+” overslaan.',
  'cap.imap.SASL-IR.summary': 'AUTHENTICATE mag het eerste SASL-antwoord al op de commandoregel meegeven',
  'cap.imap.SASL-IR.effect':
    'Scheelt één keer heen en weer: AUTHENTICATE PLAIN <base64> in plaats van wachten op een lege “+”-challenge.',
  'cap.imap.ID.summary': 'Client en server mogen elkaar hun naam en versie vertellen',
  'cap.imap.ID.effect':
    'Handig in logs en om bekende fouten van clients te omzeilen; het mag het protocol niet veranderen.',
  'cap.imap.ENABLE.summary': 'De client zet extensies aan die veranderen hoe de server antwoordt',
  'cap.imap.ENABLE.effect': 'Extensies zoals CONDSTORE, QRESYNC, UTF8=ACCEPT en IMAP4rev2 werken pas na ENABLE.',
  'cap.imap.IDLE.summary': 'De server meldt wijzigingen in de mailbox terwijl de client wacht (pushmail)',
  'cap.imap.IDLE.effect':
    'Na IDLE en “+ idling” stuurt de server EXISTS/EXPUNGE/FETCH zodra het gebeurt, tot de client DONE stuurt; pollen is niet nodig.',
  'cap.imap.STARTTLS.summary': 'De verbinding kan omgeschakeld worden naar TLS-versleuteling',
  'cap.imap.STARTTLS.effect':
    'Na STARTTLS en de getagde OK doen beide kanten een TLS-handshake; de client moet opnieuw CAPABILITY vragen (LOGIN kan nu toegestaan zijn).',
  'cap.imap.AUTH=.summary': 'AUTHENTICATE met dit SASL-mechanisme is beschikbaar',
  'cap.imap.AUTH=.effect':
    'AUTH=PLAIN: gebruiker en wachtwoord gaan in base64 over de lijn (zonder TLS leesbaar); AUTH=LOGIN vraagt ze in twee “+”-stappen.',
  'cap.imap.LOGINDISABLED.summary': 'LOGIN wordt geweigerd op deze verbinding (ze is niet versleuteld)',
  'cap.imap.LOGINDISABLED.effect':
    'De client moet STARTTLS (of poort 993) gebruiken voordat hij een wachtwoord mag sturen.',
  'cap.imap.NAMESPACE.summary':
    'De client kan vragen naar de persoonlijke namespace, die van andere gebruikers en de gedeelde',
  'cap.imap.NAMESPACE.effect': 'De client leert welk mailboxvoorvoegsel en welk scheidingsteken hij moet gebruiken.',
  'cap.imap.UNSELECT.summary': 'UNSELECT sluit de mailbox zonder te expungen',
  'cap.imap.UNSELECT.effect': 'Anders dan bij CLOSE blijven berichten met de vlag \\Deleted bestaan.',
  'cap.imap.COMPRESS=DEFLATE.summary': 'De verbinding kan met DEFLATE gecomprimeerd worden',
  'cap.imap.COMPRESS=DEFLATE.effect':
    'Na COMPRESS DEFLATE en de OK worden beide richtingen gecomprimeerd; het lab toont de regels toch gedecomprimeerd.',
  'cap.imap.UTF8=ACCEPT.summary': 'Mailboxnamen, strings en berichten mogen in UTF-8 zodra dit aanstaat',
  'cap.imap.UTF8=ACCEPT.effect':
    'Na ENABLE UTF8=ACCEPT gaan namen als UTF-8 over de lijn in plaats van als modified UTF-7.',
  'cap.imap.CHILDREN.summary': 'LIST zegt of een mailbox submappen heeft',
  'cap.imap.CHILDREN.effect':
    'LIST-antwoorden hebben \\HasChildren of \\HasNoChildren, zodat een client een mappenboom kan tekenen zonder extra LIST-commando’s.',
  'cap.imap.SPECIAL-USE.summary': 'LIST markeert speciale mailboxen: \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive',
  'cap.imap.SPECIAL-USE.effect':
    'Een client vindt de map voor verzonden berichten of de prullenbak, wat de naam of de taal ook is.',
  'cap.imap.CREATE-SPECIAL-USE.summary': 'CREATE mag een nieuwe mailbox een special-use-attribuut geven',
  'cap.imap.CREATE-SPECIAL-USE.effect':
    'De client kan bijv. zijn map voor verzonden berichten aanmaken en meteen markeren.',
  'cap.imap.LIST-EXTENDED.summary': 'LIST accepteert selectie- en RETURN-opties',
  'cap.imap.LIST-EXTENDED.effect': 'Bijv. LIST (SUBSCRIBED) "" "*" of RETURN (CHILDREN SPECIAL-USE) in één commando.',
  'cap.imap.LIST-STATUS.summary': 'LIST kan per mailbox STATUS-tellers teruggeven',
  'cap.imap.LIST-STATUS.effect':
    'Eén LIST … RETURN (STATUS (MESSAGES UNSEEN)) vervangt een STATUS-commando per mailbox.',
  'cap.imap.STATUS=SIZE.summary': 'STATUS kan de totale grootte van een mailbox geven',
  'cap.imap.STATUS=SIZE.effect':
    'STATUS mailbox (SIZE) geeft de grootte in octets, zonder de grootte van elk bericht op te vragen.',
  'cap.imap.QUOTA.summary': 'De client kan de opslaglimiet (quota) van het account en het gebruik zien',
  'cap.imap.QUOTA.effect':
    'GETQUOTAROOT INBOX geeft de geldende limieten en hoeveel er gebruikt is; een vol account antwoordt NO [OVERQUOTA].',
  'cap.imap.QUOTA=RES-STORAGE.summary': 'De quota telt opslag (in eenheden van 1024 octets)',
  'cap.imap.QUOTA=RES-STORAGE.effect': 'QUOTA-antwoorden hebben een STORAGE-resource.',
  'cap.imap.ESEARCH.summary':
    'SEARCH kan aantallen, min, max of een compacte verzameling geven in plaats van een lange lijst',
  'cap.imap.ESEARCH.effect':
    'SEARCH RETURN (COUNT MIN MAX) geeft alleen die; grote resultaten komen als reeksen (1:500).',
  'cap.imap.SEARCHRES.summary': 'Een SEARCH-resultaat kan als $ bewaard en in het volgende commando gebruikt worden',
  'cap.imap.SEARCHRES.effect': 'SEARCH RETURN (SAVE) … en daarna FETCH $ … werkt zonder de nummers terug te sturen.',
  'cap.imap.WITHIN.summary': 'SEARCH OLDER n en YOUNGER n (seconden)',
  'cap.imap.WITHIN.effect': 'Vindt berichten die in de laatste n seconden ontvangen zijn.',
  'cap.imap.SORT.summary': 'De server sorteert berichten (op datum, afzender, onderwerp, grootte…)',
  'cap.imap.SORT.effect':
    'SORT (DATE) UTF-8 ALL geeft berichtnummers in gesorteerde volgorde; de client hoeft niet alle headers op te halen om te sorteren.',
  'cap.imap.SORT=DISPLAY.summary': 'SORT op de getoonde naam (DISPLAYFROM, DISPLAYTO)',
  'cap.imap.SORT=DISPLAY.effect': 'Sorteert op de naam die een client toont in plaats van op het adres.',
  'cap.imap.ESORT.summary': 'SORT kan resultaten zoals ESEARCH geven (aantallen, min, max, deel)',
  'cap.imap.ESORT.effect': 'SORT RETURN (COUNT) … geeft een aantal in plaats van de hele lijst.',
  'cap.imap.THREAD=.summary': 'De server groepeert berichten in gesprekken met dit algoritme',
  'cap.imap.THREAD=.effect':
    'THREAD REFERENCES UTF-8 ALL geeft bomen van berichtnummers; REFERENCES volgt In-Reply-To/References, ORDEREDSUBJECT groepeert op onderwerp.',
  'cap.imap.UIDPLUS.summary': 'APPEND, COPY en MOVE melden de UID’s van de nieuwe berichten; UID EXPUNGE',
  'cap.imap.UIDPLUS.effect':
    'Antwoorden bevatten [APPENDUID …] en [COPYUID …], zodat een client de nieuwe berichten kent zonder te zoeken.',
  'cap.imap.MOVE.summary': 'MOVE verplaatst berichten in één stap naar een andere mailbox',
  'cap.imap.MOVE.effect': 'In plaats van COPY, STORE \\Deleted en EXPUNGE; de bronmailbox krijgt EXPUNGE-antwoorden.',
  'cap.imap.MULTIAPPEND.summary': 'Eén APPEND kan meerdere berichten tegelijk toevoegen',
  'cap.imap.MULTIAPPEND.effect': 'Alle berichten worden toegevoegd, of geen enkel.',
  'cap.imap.BINARY.summary':
    'FETCH BINARY[…] geeft een deel gedecodeerd terug (geen base64), APPEND mag binair versturen',
  'cap.imap.BINARY.effect': 'Bespaart de client het decoderen en 33% van de overdracht bij base64-bijlagen.',
  'cap.imap.CONDSTORE.summary':
    'Elke wijziging krijgt een mod-sequence, zodat een client alleen ophaalt wat veranderd is',
  'cap.imap.CONDSTORE.effect': 'FETCH … (CHANGEDSINCE n) en STORE (UNCHANGEDSINCE n); SELECT meldt [HIGHESTMODSEQ].',
  'cap.imap.QRESYNC.summary':
    'Snelle hersynchronisatie: SELECT meldt wat er sinds de vorige keer veranderd en verdwenen is',
  'cap.imap.QRESYNC.effect':
    'Na ENABLE QRESYNC geeft SELECT … (QRESYNC (uidvalidity modseq)) gewijzigde FETCH- en VANISHED-antwoorden; EXPUNGE wordt VANISHED.',
  'cap.imap.OBJECTID.summary': 'Mailboxen en berichten hebben blijvende id’s (MAILBOXID, EMAILID, THREADID)',
  'cap.imap.OBJECTID.effect': 'Een client herkent een hernoemde mailbox of een verplaatst bericht aan zijn id.',
  'cap.imap.PREVIEW.summary': 'FETCH PREVIEW geeft een korte voorvertoning van het bericht in platte tekst',
  'cap.imap.PREVIEW.effect': 'Een client toont de eerste woorden van elk bericht zonder de body te downloaden.',
  'cap.imap.APPENDLIMIT=.summary': 'Het grootste bericht dat APPEND aanneemt, in bytes',
  'cap.imap.APPENDLIMIT=.effect':
    'Een client kan weigeren een te groot bericht te uploaden voordat hij het verstuurt; APPEND boven de limiet krijgt NO [TOOBIG].',
  'cap.managesieve.IMPLEMENTATION.summary': 'De serversoftware en haar versie',
  'cap.managesieve.IMPLEMENTATION.effect': 'Alleen ter informatie; clients mogen hun gedrag er niet op aanpassen.',
  'cap.managesieve.SASL.summary':
    'De SASL-mechanismen die AUTHENTICATE aanneemt (de lijst kan vóór STARTTLS leeg zijn)',
  'cap.managesieve.SASL.effect':
    'AUTHENTICATE "PLAIN" met de base64 van NUL gebruiker NUL wachtwoord logt in (zonder TLS leesbaar voor iedereen op de lijn). Een lege lijst vóór TLS betekent: stuur eerst STARTTLS.',
  'cap.managesieve.SIEVE.summary':
    'De Sieve-extensies die een script met `require` mag vragen (elk uitgelegd in het deel over Sieve)',
  'cap.managesieve.SIEVE.effect':
    'Een script dat een extensie vraagt die hier niet staat, wordt door PUTSCRIPT en CHECKSCRIPT geweigerd met NO en de regel van de require.',
  'cap.managesieve.STARTTLS.summary': 'De verbinding kan omgeschakeld worden naar TLS-versleuteling',
  'cap.managesieve.STARTTLS.effect':
    'Na STARTTLS en OK doen beide kanten een TLS-handshake; de server stuurt daarna uit zichzelf opnieuw zijn capabilities, nu met de SASL-mechanismen die TLS nodig hebben.',
  'cap.managesieve.VERSION.summary':
    'De protocolversie: "1.0" is RFC 5804 (met CHECKSCRIPT, RENAMESCRIPT, NOOP, UNAUTHENTICATE)',
  'cap.managesieve.VERSION.effect':
    'Een server zonder VERSION spreekt een oudere draft, waarin die commando’s kunnen ontbreken.',
  'cap.managesieve.MAXREDIRECTS.summary': 'Het maximale aantal redirect-acties in één uitvoering van een script',
  'cap.managesieve.MAXREDIRECTS.effect':
    'Een script met meer redirects mislukt bij de aflevering; het bericht blijft dan in INBOX (RFC 5228 §2.10.6).',
  'cap.managesieve.NOTIFY.summary': 'De meldingsmethoden van de extensie enotify (RFC 5435), bijv. mailto',
  'cap.managesieve.NOTIFY.effect': 'Staat er alleen als de server "enotify" ondersteunt.',
  'cap.managesieve.UNAUTHENTICATE.summary': 'UNAUTHENTICATE logt uit maar houdt de verbinding open',
  'cap.managesieve.UNAUTHENTICATE.effect':
    'Een client kan als iemand anders opnieuw inloggen zonder nieuwe verbinding (en TLS-handshake).',
  'cap.managesieve.OWNER.summary': 'Van wie deze sessie de scripts beheert (na het inloggen)',
  'cap.managesieve.OWNER.effect':
    'Staat alleen in de capabilities na AUTHENTICATE, bijv. als de client opnieuw CAPABILITY vraagt.',
  'cap.managesieve.LANGUAGE.summary': 'De taal van de leesbare teksten in de antwoorden',
  'cap.managesieve.LANGUAGE.effect': 'Ter informatie; "i-default" is de standaard.',
  'cap.sieve.fileinto.summary': 'fileinto bewaart het bericht in een andere map in plaats van in INBOX',
  'cap.sieve.fileinto.effect': 'Het bericht komt daar terecht en niet in INBOX (tenzij keep of :copy dat ook vraagt).',
  'cap.sieve.reject.summary': 'reject weigert het bericht met een reden die de afzender terugkrijgt',
  'cap.sieve.reject.effect':
    'Als het kan, antwoordt de server al tijdens SMTP met 550 en de reden; anders krijgt de afzender een bounce (een MDN).',
  'cap.sieve.ereject.summary': 'ereject weigert het bericht in de SMTP-dialoog zelf (550), niet met een bounce',
  'cap.sieve.ereject.effect':
    'De verzendende server ziet de weigering meteen; er gaat geen bounce naar een afzender die misschien vervalst is.',
  'cap.sieve.envelope.summary': 'envelope test de SMTP-envelope (MAIL FROM, RCPT TO) in plaats van de header',
  'cap.sieve.envelope.effect':
    'De envelope zegt wie het bericht echt verstuurde en aan wie het afgeleverd werd, bijv. bij mail aan een alias of in BCC.',
  'cap.sieve.encoded-character.summary':
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
    'Strings mogen ${hex:…} en ${unicode:…} bevatten voor tekens die moeilijk te typen zijn',
  'cap.sieve.encoded-character.effect':
    'Zo kan een script een byte of teken bij zijn nummer noemen, bijv. een harde spatie.',
  'cap.sieve.copy.summary':
    ':copy bij fileinto en redirect laat het bericht ook aankomen waar het anders terechtgekomen was',
  'cap.sieve.copy.effect':
    'fileinto :copy of redirect :copy annuleert de impliciete keep niet: INBOX krijgt het bericht ook.',
  'cap.sieve.imap4flags.summary':
    'Scripts zetten IMAP-vlaggen (\\Seen, \\Flagged, sleutelwoorden) op het bericht dat ze bewaren of in een map zetten',
  'cap.sieve.imap4flags.effect':
    'addflag/setflag/removeflag veranderen de vlaggen voor de acties die volgen; :flags geeft één actie eigen vlaggen; hasflag test ze.',
  'cap.sieve.body.summary': 'De test body kijkt naar de tekst van het bericht, niet alleen naar de header',
  'cap.sieve.body.effect':
    ':text test de gedecodeerde tekstdelen, :raw de niet-gedecodeerde body, :content de delen van bepaalde types.',
  'cap.sieve.variables.summary':
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
    'Variabelen: set, ${name} in strings, en de stukken die een :matches-jokerteken vond (${1})',
  'cap.sieve.variables.effect':
    'Met :matches kan een script hergebruiken wat overeenkwam, bijv. in een map zetten op lijstnaam of op het +detail.',
  'cap.sieve.relational.summary':
    ':value en :count vergelijken met gt, ge, lt, le, eq, ne in plaats van alleen op gelijkheid',
  'cap.sieve.relational.effect':
    'Vergelijkt strings, of getallen met de comparator i;ascii-numeric, en telt headervelden.',
  'cap.sieve.comparator-i;ascii-numeric.summary': 'De comparator die strings als decimale getallen vergelijkt',
  'cap.sieve.comparator-i;ascii-numeric.effect':
    'Met relational is "10" groter dan "9" (als tekst niet). Strings die niet met een cijfer beginnen, tellen als oneindig.',
  'cap.sieve.date.summary':
    'date test een datumheader, currentdate het moment van aflevering, per onderdeel (datum, uur, weekdag…)',
  'cap.sieve.date.effect':
    'Zo werkt een afwezigheidsbericht of een regel alleen in een bepaalde periode, of in het weekend.',
  'cap.sieve.index.summary': ':index n kiest het n-de voorkomen van een headerveld (:last telt vanaf het einde)',
  'cap.sieve.index.effect': 'Bijvoorbeeld het eerste Received:-veld, het veld dat je eigen server toevoegde.',
  'cap.sieve.subaddress.summary': ':user en :detail testen de delen van user+detail@domein',
  'cap.sieve.subaddress.effect':
    'Mail aan ludo+shop@example.test wordt aan ludo afgeleverd, en het script kan hem op "shop" in een map zetten.',
  'cap.sieve.vacation.summary':
    'vacation antwoordt automatisch, één keer per afzender in een periode (:days, standaard 7)',
  'cap.sieve.vacation.effect':
    'Geen antwoord op mailinglijsten, bulkmail, automatische antwoorden, de lege afzender of mail die niet aan jou gericht is (§4.5). Het antwoord heeft Auto-Submitted: auto-replied.',
  'cap.sieve.vacation-seconds.summary': 'vacation :seconds geeft de periode in seconden in plaats van dagen',
  'cap.sieve.vacation-seconds.effect': 'Voor korte periodes, bijv. hoogstens één antwoord per uur (:seconds 3600).',
  'cap.sieve.include.summary':
    'include voert een ander script uit, van de gebruiker (:personal) of van de server (:global)',
  'cap.sieve.include.effect': 'Gedeelde regels staan in één script; return beëindigt een ingevoegd script voortijdig.',
  'cap.sieve.mailbox.summary':
    'mailboxexists test of een map bestaat, en fileinto :create maakt een ontbrekende map aan',
  'cap.sieve.mailbox.effect':
    'Zonder :create mislukt fileinto naar een map die niet bestaat, en blijft het bericht in INBOX.',
  'cap.sieve.environment.summary':
    'environment test gegevens over de server: zijn domein, host, naam, versie, remote-ip…',
  'cap.sieve.environment.effect':
    'Een script kan zich per server anders gedragen, of naargelang het clientadres dat de mail afleverde.',
  'cap.sieve.duplicate.summary':
    'duplicate is waar voor een bericht (Message-ID, of een :uniqueid) dat in een periode al eens langskwam',
  'cap.sieve.duplicate.effect': 'Gooit kopieën weg die twee keer aankomen, bijv. via een mailinglijst en rechtstreeks.',
  'cap.sieve.editheader.summary': 'addheader en deleteheader veranderen de header van het bericht',
  'cap.sieve.editheader.effect': 'Wordt niet aangeboden door postbode.',
  'cap.sieve.enotify.summary': 'notify stuurt een melding (bijv. een korte mail) over een bericht',
  'cap.sieve.enotify.effect': 'Wordt niet aangeboden door postbode.',
};
