/** The capability explainer's texts in French (keys: caps.en.ts). Keywords, commands and RFC names stay as they are. */
import type { capsEn } from './caps.en.js';

export const capsFr: Record<keyof typeof capsEn, string> = {
  'cap.smtp.PIPELINING.summary': 'Le client peut envoyer plusieurs commandes sans attendre chaque réponse',
  'cap.smtp.PIPELINING.effect':
    'MAIL, RCPT et DATA peuvent partir d’un seul coup ; les réponses reviennent dans le même ordre, et le client les associe une à une. Cela économise des allers-retours sur les liaisons lentes.',
  'cap.smtp.SIZE.summary': 'La taille du plus grand message que le serveur accepte, en octets',
  'cap.smtp.SIZE.effect':
    'Le client peut annoncer la taille d’avance avec MAIL FROM:<…> SIZE=n et apprendre tout de suite (552 ou 452) qu’un message est trop gros, au lieu de le découvrir après l’avoir envoyé en entier.',
  'cap.smtp.8BITMIME.summary':
    'Le corps des messages peut contenir des octets 8 bits (p. ex. du texte UTF-8) sans encodage',
  'cap.smtp.8BITMIME.effect':
    'Le client peut ajouter BODY=8BITMIME à MAIL FROM et envoyer le texte 8 bits tel quel, au lieu de quoted-printable ou de base64.',
  'cap.smtp.SMTPUTF8.summary': 'Les adresses et les champs d’en-tête peuvent être en UTF-8 (courrier internationalisé)',
  'cap.smtp.SMTPUTF8.effect':
    'Avec MAIL FROM:<…> SMTPUTF8, le client peut utiliser des adresses comme jörg@example.test et des en-têtes en UTF-8.',
  'cap.smtp.ENHANCEDSTATUSCODES.summary': 'Les réponses portent un code d’état étendu (RFC 3463) après le code de base',
  'cap.smtp.ENHANCEDSTATUSCODES.effect':
    'Chaque ligne de réponse commence par classe.sujet.détail, p. ex. 5.1.1 pour « boîte de destination invalide », ce qui dit plus précisément ce qui s’est passé que le code à trois chiffres.',
  'cap.smtp.CHUNKING.summary': 'Le message peut être envoyé en morceaux comptés avec BDAT au lieu de DATA',
  'cap.smtp.CHUNKING.effect':
    'BDAT n envoie exactement n octets, sans doublement des points ni ligne de fin ; le dernier morceau porte LAST. Chaque morceau reçoit sa propre réponse.',
  'cap.smtp.BINARYMIME.summary': 'Le corps des messages peut contenir des données binaires (avec BDAT seulement)',
  'cap.smtp.BINARYMIME.effect':
    'MAIL FROM:<…> BODY=BINARYMIME, puis le message en morceaux BDAT, sans encodage base64.',
  'cap.smtp.DSN.summary':
    'Notifications d’état de remise (DSN) : l’expéditeur choisit les rapports de remise qu’il reçoit',
  'cap.smtp.DSN.effect':
    'RCPT TO:<…> NOTIFY=SUCCESS,FAILURE demande des rapports ; MAIL FROM:<…> RET=HDRS ENVID=… dit ce que le rapport renvoie et comment le reconnaître.',
  'cap.smtp.STARTTLS.summary': 'La connexion peut passer en chiffrement TLS',
  'cap.smtp.STARTTLS.effect':
    'Après STARTTLS et la réponse 220, les deux côtés font une poignée de main TLS ; le client recommence ensuite par EHLO. La liste des extensions peut changer (AUTH n’apparaît souvent qu’après STARTTLS).',
  'cap.smtp.AUTH.summary': 'Le client peut s’authentifier avec l’un des mécanismes SASL listés',
  'cap.smtp.AUTH.effect':
    'AUTH PLAIN envoie le nom d’utilisateur et le mot de passe encodés en base64 (lisibles par quiconque sur le réseau sans TLS) ; AUTH LOGIN les demande en deux étapes 334. La soumission (port 587) exige une authentification avant MAIL.',
  'cap.smtp.HELP.summary': 'Le serveur répond à HELP par une liste de commandes',
  'cap.smtp.HELP.effect':
    'HELP ou HELP <commande> renvoie des lignes 214 destinées aux personnes qui tapent le SMTP à la main.',
  'cap.smtp.VRFY.summary': 'Le serveur répond à VRFY (vérifier un nom d’utilisateur)',
  'cap.smtp.VRFY.effect':
    'La plupart des serveurs répondent 252 sans dire si l’utilisateur existe, pour empêcher la collecte d’adresses.',
  'cap.smtp.REQUIRETLS.summary': 'L’expéditeur peut exiger TLS à chaque étape du trajet du message',
  'cap.smtp.REQUIRETLS.effect':
    'MAIL FROM:<…> REQUIRETLS : chaque serveur sur le trajet doit utiliser un TLS vérifié, sinon le message revient en erreur.',
  'cap.pop3.TOP.summary': 'TOP renvoie l’en-tête d’un message et les n premières lignes de son corps',
  'cap.pop3.TOP.effect':
    'Un client peut afficher une liste de messages (From, Subject) sans les télécharger en entier.',
  'cap.pop3.UIDL.summary': 'UIDL donne à chaque message un identifiant unique permanent',
  'cap.pop3.UIDL.effect':
    'Les numéros de message changent d’une session à l’autre, pas l’identifiant unique : les clients qui « laissent les messages sur le serveur » savent ainsi ce qu’ils ont déjà téléchargé.',
  'cap.pop3.RESP-CODES.summary': 'Les réponses d’erreur peuvent porter un code entre crochets, p. ex. -ERR [IN-USE]',
  'cap.pop3.RESP-CODES.effect':
    'Grâce au code, et non au texte, un client distingue « boîte verrouillée par une autre session » ou « problème du serveur » de « mauvais mot de passe ».',
  'cap.pop3.AUTH-RESP-CODE.summary': 'Un échec de connexion indique [AUTH] quand les identifiants sont faux',
  'cap.pop3.AUTH-RESP-CODE.effect':
    'Le client ne redemande un mot de passe à l’utilisateur que si la réponse indique [AUTH] ; [SYS/TEMP] veut dire : réessayez plus tard.',
  'cap.pop3.PIPELINING.summary': 'Le client peut envoyer plusieurs commandes sans attendre chaque réponse',
  'cap.pop3.PIPELINING.effect':
    'Par exemple de nombreuses commandes RETR d’un seul coup ; les réponses reviennent dans l’ordre.',
  'cap.pop3.EXPIRE.summary':
    'Combien de temps le serveur garde les messages après leur récupération (NEVER : jusqu’à leur suppression)',
  'cap.pop3.EXPIRE.effect':
    'EXPIRE NEVER indique aux clients qui « laissent les messages sur le serveur » que celui-ci ne supprimera pas de lui-même le courrier récupéré.',
  'cap.pop3.LOGIN-DELAY.summary': 'Le nombre minimal de secondes entre deux connexions',
  'cap.pop3.LOGIN-DELAY.effect': 'Un client ne devrait pas relever le courrier plus souvent.',
  'cap.pop3.USER.summary': 'USER et PASS peuvent servir à se connecter (le mot de passe circule tel qu’il a été tapé)',
  'cap.pop3.USER.effect':
    'Proposé seulement là où les connexions en clair sont permises (après STLS, sur le port 995, ou sur la boucle locale en mode labo).',
  'cap.pop3.SASL.summary': 'AUTH avec les mécanismes SASL listés peut servir à se connecter',
  'cap.pop3.SASL.effect':
    'AUTH PLAIN envoie l’utilisateur et le mot de passe encodés en base64 sur une seule ligne (RFC 5034) ; le serveur peut en demander davantage par des lignes « + ».',
  'cap.pop3.STLS.summary': 'La connexion peut passer en chiffrement TLS',
  'cap.pop3.STLS.effect':
    'Après STLS et +OK, les deux côtés font une poignée de main TLS ; le client redemande ensuite CAPA, qui peut maintenant proposer USER et SASL.',
  'cap.pop3.IMPLEMENTATION.summary': 'Le logiciel du serveur et sa version',
  'cap.pop3.IMPLEMENTATION.effect':
    'À titre d’information seulement ; les clients ne doivent pas changer de comportement en fonction de cela.',
  'cap.imap.IMAP4rev1.summary': 'Le serveur parle IMAP4rev1 (la version qu’utilisent la plupart des clients)',
  'cap.imap.IMAP4rev1.effect':
    'Les clients qui n’activent pas IMAP4rev2 avec ENABLE ont le comportement d’IMAP4rev1 : \\Recent, la réponse SEARCH, LSUB.',
  'cap.imap.IMAP4rev2.summary': 'Le serveur parle aussi IMAP4rev2, la version actuelle d’IMAP',
  'cap.imap.IMAP4rev2.effect':
    'Après ENABLE IMAP4rev2, le serveur répond à SEARCH par ESEARCH, abandonne \\Recent et utilise des noms de boîtes en UTF-8.',
  'cap.imap.LITERAL+.summary':
    'Littéraux non synchronisants : le client peut envoyer des données {n+} sans attendre le « + »',
  'cap.imap.LITERAL+.effect':
    'APPEND et les autres commandes avec des littéraux n’ont pas besoin d’un aller-retour par littéral.',
  'cap.imap.LITERAL-.summary': 'Littéraux non synchronisants jusqu’à 4096 octets',
  'cap.imap.LITERAL-.effect': 'Comme LITERAL+, mais seuls les petits littéraux peuvent se passer du « + ».',
  'cap.imap.SASL-IR.summary': 'AUTHENTICATE peut porter la première réponse SASL sur la ligne de commande',
  'cap.imap.SASL-IR.effect':
    'Économise un aller-retour : AUTHENTICATE PLAIN <base64> au lieu d’attendre un défi « + » vide.',
  'cap.imap.ID.summary': 'Le client et le serveur peuvent se communiquer leur nom et leur version',
  'cap.imap.ID.effect':
    'Utile dans les journaux et pour contourner des bogues connus de clients ; cela ne doit pas changer le protocole.',
  'cap.imap.ENABLE.summary': 'Le client active des extensions qui changent la façon dont le serveur répond',
  'cap.imap.ENABLE.effect':
    'Des extensions comme CONDSTORE, QRESYNC, UTF8=ACCEPT et IMAP4rev2 ne prennent effet qu’après ENABLE.',
  'cap.imap.IDLE.summary':
    'Le serveur signale les changements de la boîte pendant que le client attend (courrier « push »)',
  'cap.imap.IDLE.effect':
    'Après IDLE et « + idling », le serveur envoie EXISTS/EXPUNGE/FETCH au fur et à mesure, jusqu’à ce que le client envoie DONE ; plus besoin d’interroger régulièrement.',
  'cap.imap.STARTTLS.summary': 'La connexion peut passer en chiffrement TLS',
  'cap.imap.STARTTLS.effect':
    'Après STARTTLS et le OK étiqueté, les deux côtés font une poignée de main TLS ; le client doit redemander CAPABILITY (LOGIN peut devenir autorisé).',
  'cap.imap.AUTH=.summary': 'AUTHENTICATE avec ce mécanisme SASL est disponible',
  'cap.imap.AUTH=.effect':
    'AUTH=PLAIN : l’utilisateur et le mot de passe circulent encodés en base64 (lisibles sans TLS) ; AUTH=LOGIN les demande en deux étapes « + ».',
  'cap.imap.LOGINDISABLED.summary': 'LOGIN est refusé sur cette connexion (elle n’est pas chiffrée)',
  'cap.imap.LOGINDISABLED.effect':
    'Le client doit utiliser STARTTLS (ou le port 993) avant de pouvoir envoyer un mot de passe.',
  'cap.imap.NAMESPACE.summary':
    'Le client peut demander les espaces de noms personnel, des autres utilisateurs et partagé',
  'cap.imap.NAMESPACE.effect': 'Le client apprend le préfixe des boîtes et le séparateur de hiérarchie à utiliser.',
  'cap.imap.UNSELECT.summary': 'UNSELECT ferme la boîte sans EXPUNGE',
  'cap.imap.UNSELECT.effect': 'Contrairement à CLOSE, les messages marqués \\Deleted restent.',
  'cap.imap.COMPRESS=DEFLATE.summary': 'La connexion peut être compressée avec DEFLATE',
  'cap.imap.COMPRESS=DEFLATE.effect':
    'Après COMPRESS DEFLATE et le OK, les deux sens sont compressés ; le labo montre quand même les lignes décompressées.',
  'cap.imap.UTF8=ACCEPT.summary':
    'Les noms de boîtes, les chaînes et les messages peuvent être en UTF-8 une fois l’option activée',
  'cap.imap.UTF8=ACCEPT.effect': 'Après ENABLE UTF8=ACCEPT, les noms circulent en UTF-8 au lieu d’UTF-7 modifié.',
  'cap.imap.CHILDREN.summary': 'LIST indique si une boîte a des sous-dossiers',
  'cap.imap.CHILDREN.effect':
    'Les réponses LIST portent \\HasChildren ou \\HasNoChildren : un client peut dessiner l’arborescence des dossiers sans autres LIST.',
  'cap.imap.SPECIAL-USE.summary': 'LIST marque les boîtes spéciales : \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive',
  'cap.imap.SPECIAL-USE.effect':
    'Un client trouve le dossier des messages envoyés ou la corbeille, quels que soient leur nom et leur langue.',
  'cap.imap.CREATE-SPECIAL-USE.summary': 'CREATE peut donner un attribut special-use à une nouvelle boîte',
  'cap.imap.CREATE-SPECIAL-USE.effect':
    'Le client peut par exemple créer son dossier des messages envoyés et le marquer aussitôt.',
  'cap.imap.LIST-EXTENDED.summary': 'LIST accepte des options de sélection et de retour',
  'cap.imap.LIST-EXTENDED.effect':
    'P. ex. LIST (SUBSCRIBED) "" "*" ou RETURN (CHILDREN SPECIAL-USE) en une seule commande.',
  'cap.imap.LIST-STATUS.summary': 'LIST peut renvoyer les compteurs STATUS de chaque boîte',
  'cap.imap.LIST-STATUS.effect':
    'Un seul LIST … RETURN (STATUS (MESSAGES UNSEEN)) remplace une commande STATUS par boîte.',
  'cap.imap.STATUS=SIZE.summary': 'STATUS peut donner la taille totale d’une boîte',
  'cap.imap.STATUS=SIZE.effect':
    'STATUS boîte (SIZE) donne la taille en octets sans demander la taille de chaque message.',
  'cap.imap.QUOTA.summary': 'Le client peut voir le quota de stockage du compte et son utilisation',
  'cap.imap.QUOTA.effect':
    'GETQUOTAROOT INBOX renvoie les limites qui s’appliquent et l’espace utilisé ; un compte plein répond NO [OVERQUOTA].',
  'cap.imap.QUOTA=RES-STORAGE.summary': 'Le quota compte le stockage (en unités de 1024 octets)',
  'cap.imap.QUOTA=RES-STORAGE.effect': 'Les réponses QUOTA ont une ressource STORAGE.',
  'cap.imap.ESEARCH.summary':
    'SEARCH peut renvoyer un nombre, un min, un max ou un ensemble compact au lieu d’une longue liste',
  'cap.imap.ESEARCH.effect':
    'SEARCH RETURN (COUNT MIN MAX) ne renvoie que cela ; les grands résultats arrivent sous forme de plages (1:500).',
  'cap.imap.SEARCHRES.summary':
    'Un résultat de SEARCH peut être gardé sous le nom $ et servir dans la commande suivante',
  'cap.imap.SEARCHRES.effect': 'SEARCH RETURN (SAVE) … puis FETCH $ … fonctionne sans renvoyer les numéros.',
  'cap.imap.WITHIN.summary': 'SEARCH OLDER n et YOUNGER n (en secondes)',
  'cap.imap.WITHIN.effect': 'Trouve les messages reçus dans les n dernières secondes.',
  'cap.imap.SORT.summary': 'Le serveur trie les messages (par date, expéditeur, sujet, taille…)',
  'cap.imap.SORT.effect':
    'SORT (DATE) UTF-8 ALL renvoie les numéros de message triés ; le client n’a pas besoin de récupérer tous les en-têtes pour trier.',
  'cap.imap.SORT=DISPLAY.summary': 'SORT selon le nom affiché (DISPLAYFROM, DISPLAYTO)',
  'cap.imap.SORT=DISPLAY.effect': 'Trie selon le nom qu’un client affiche plutôt que selon l’adresse.',
  'cap.imap.ESORT.summary': 'SORT peut renvoyer des résultats à la ESEARCH (nombre, min, max, partie)',
  'cap.imap.ESORT.effect': 'SORT RETURN (COUNT) … donne un nombre au lieu de la liste entière.',
  'cap.imap.THREAD=.summary': 'Le serveur regroupe les messages en conversations avec cet algorithme',
  'cap.imap.THREAD=.effect':
    'THREAD REFERENCES UTF-8 ALL renvoie des arbres de numéros de message ; REFERENCES suit In-Reply-To/References, ORDEREDSUBJECT regroupe par sujet.',
  'cap.imap.UIDPLUS.summary': 'APPEND, COPY et MOVE indiquent les UID des nouveaux messages ; UID EXPUNGE',
  'cap.imap.UIDPLUS.effect':
    'Les réponses portent [APPENDUID …] et [COPYUID …] : un client connaît les nouveaux messages sans chercher.',
  'cap.imap.MOVE.summary': 'MOVE déplace des messages vers une autre boîte en une seule étape',
  'cap.imap.MOVE.effect':
    'Au lieu de COPY, STORE \\Deleted et EXPUNGE ; la boîte d’origine reçoit des réponses EXPUNGE.',
  'cap.imap.MULTIAPPEND.summary': 'Un seul APPEND peut ajouter plusieurs messages à la fois',
  'cap.imap.MULTIAPPEND.effect': 'Tous les messages sont ajoutés, ou aucun.',
  'cap.imap.BINARY.summary': 'FETCH BINARY[…] renvoie une partie décodée (sans base64), APPEND peut envoyer du binaire',
  'cap.imap.BINARY.effect': 'Épargne au client le décodage et 33 % du transfert pour les pièces jointes en base64.',
  'cap.imap.CONDSTORE.summary': 'Chaque changement reçoit un mod-sequence : un client ne récupère que ce qui a changé',
  'cap.imap.CONDSTORE.effect': 'FETCH … (CHANGEDSINCE n) et STORE (UNCHANGEDSINCE n) ; SELECT indique [HIGHESTMODSEQ].',
  'cap.imap.QRESYNC.summary':
    'Resynchronisation rapide : SELECT indique ce qui a changé et ce qui a disparu depuis la dernière fois',
  'cap.imap.QRESYNC.effect':
    'Après ENABLE QRESYNC, SELECT … (QRESYNC (uidvalidity modseq)) renvoie les FETCH modifiés et des réponses VANISHED ; EXPUNGE devient VANISHED.',
  'cap.imap.OBJECTID.summary':
    'Les boîtes et les messages ont des identifiants permanents (MAILBOXID, EMAILID, THREADID)',
  'cap.imap.OBJECTID.effect': 'Un client reconnaît une boîte renommée ou un message déplacé à son identifiant.',
  'cap.imap.PREVIEW.summary': 'FETCH PREVIEW renvoie un court aperçu du message en texte brut',
  'cap.imap.PREVIEW.effect': 'Un client affiche les premiers mots de chaque message sans en télécharger le corps.',
  'cap.imap.APPENDLIMIT=.summary': 'La taille du plus grand message qu’APPEND accepte, en octets',
  'cap.imap.APPENDLIMIT=.effect':
    'Un client peut renoncer à téléverser un message trop gros avant de l’envoyer ; un APPEND au-delà de la limite reçoit NO [TOOBIG].',
  'cap.managesieve.IMPLEMENTATION.summary': 'Le logiciel du serveur et sa version',
  'cap.managesieve.IMPLEMENTATION.effect':
    'À titre d’information seulement ; les clients ne doivent pas changer de comportement en fonction de cela.',
  'cap.managesieve.SASL.summary':
    'Les mécanismes SASL qu’AUTHENTICATE accepte (la liste peut être vide avant STARTTLS)',
  'cap.managesieve.SASL.effect':
    'AUTHENTICATE "PLAIN" avec le base64 de NUL utilisateur NUL mot de passe ouvre la session (lisible par quiconque sur le réseau sans TLS). Une liste vide avant TLS veut dire : envoyez d’abord STARTTLS.',
  'cap.managesieve.SIEVE.summary':
    'Les extensions Sieve qu’un script peut demander avec `require` (chacune expliquée dans la partie Sieve)',
  'cap.managesieve.SIEVE.effect':
    'Un script qui demande une extension absente de cette liste est refusé par PUTSCRIPT et CHECKSCRIPT avec NO et la ligne du require.',
  'cap.managesieve.STARTTLS.summary': 'La connexion peut passer en chiffrement TLS',
  'cap.managesieve.STARTTLS.effect':
    'Après STARTTLS et OK, les deux côtés font une poignée de main TLS ; le serveur renvoie ensuite de lui-même ses capacités, cette fois avec les mécanismes SASL qui demandent TLS.',
  'cap.managesieve.VERSION.summary':
    'La version du protocole : "1.0" est la RFC 5804 (avec CHECKSCRIPT, RENAMESCRIPT, NOOP, UNAUTHENTICATE)',
  'cap.managesieve.VERSION.effect':
    'Un serveur sans VERSION parle un brouillon plus ancien, où ces commandes peuvent manquer.',
  'cap.managesieve.MAXREDIRECTS.summary': 'Le nombre maximal d’actions redirect lors d’une exécution d’un script',
  'cap.managesieve.MAXREDIRECTS.effect':
    'Un script avec plus de redirections échoue à la remise ; le message est alors gardé dans INBOX (RFC 5228 §2.10.6).',
  'cap.managesieve.NOTIFY.summary': 'Les méthodes de notification de l’extension enotify (RFC 5435), p. ex. mailto',
  'cap.managesieve.NOTIFY.effect': 'Présent seulement si le serveur prend en charge "enotify".',
  'cap.managesieve.UNAUTHENTICATE.summary': 'UNAUTHENTICATE ferme la session mais garde la connexion',
  'cap.managesieve.UNAUTHENTICATE.effect':
    'Un client peut se reconnecter sous une autre identité sans nouvelle connexion (ni nouvelle poignée de main TLS).',
  'cap.managesieve.OWNER.summary': 'À qui appartiennent les scripts que gère cette session (après connexion)',
  'cap.managesieve.OWNER.effect':
    'Envoyé seulement dans les capacités après AUTHENTICATE, p. ex. quand le client redemande CAPABILITY.',
  'cap.managesieve.LANGUAGE.summary': 'La langue des textes lisibles dans les réponses',
  'cap.managesieve.LANGUAGE.effect': 'À titre d’information ; "i-default" est la valeur par défaut.',
  'cap.sieve.fileinto.summary': 'fileinto range le message dans un autre dossier au lieu d’INBOX',
  'cap.sieve.fileinto.effect':
    'Le message est rangé là et n’est pas gardé dans INBOX (sauf si keep ou :copy le demandent).',
  'cap.sieve.reject.summary': 'reject refuse le message avec une raison que l’expéditeur reçoit en retour',
  'cap.sieve.reject.effect':
    'Quand il le peut, le serveur répond 550 avec la raison dès la session SMTP ; sinon l’expéditeur reçoit un avis de non-remise (un MDN).',
  'cap.sieve.ereject.summary':
    'ereject refuse le message dans le dialogue SMTP lui-même (550), et non par un avis de non-remise',
  'cap.sieve.ereject.effect':
    'Le serveur expéditeur voit le refus tout de suite ; aucun avis n’est envoyé à un expéditeur peut-être usurpé.',
  'cap.sieve.envelope.summary': 'envelope teste l’enveloppe SMTP (MAIL FROM, RCPT TO) au lieu de l’en-tête',
  'cap.sieve.envelope.effect':
    'L’enveloppe dit qui a vraiment envoyé le message et à qui il a été remis, p. ex. pour un courrier adressé à un alias ou en copie cachée.',
  'cap.sieve.encoded-character.summary':
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
    'Les chaînes peuvent contenir ${hex:…} et ${unicode:…} pour les caractères difficiles à taper',
  'cap.sieve.encoded-character.effect':
    'Un script peut ainsi désigner un octet ou un caractère par son numéro, p. ex. une espace insécable.',
  'cap.sieve.copy.summary': ':copy sur fileinto et redirect laisse aussi le message arriver là où il serait allé sinon',
  'cap.sieve.copy.effect':
    'fileinto :copy ou redirect :copy n’annule pas le keep implicite : INBOX reçoit aussi le message.',
  'cap.sieve.imap4flags.summary':
    'Les scripts posent des drapeaux IMAP (\\Seen, \\Flagged, mots-clés) sur le message qu’ils gardent ou rangent',
  'cap.sieve.imap4flags.effect':
    'addflag/setflag/removeflag changent les drapeaux des actions suivantes ; :flags donne ses propres drapeaux à une action ; hasflag les teste.',
  'cap.sieve.body.summary': 'Le test body examine le texte du message, pas seulement l’en-tête',
  'cap.sieve.body.effect':
    ':text teste les parties texte décodées, :raw le corps non décodé, :content les parties de certains types.',
  'cap.sieve.variables.summary':
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
    'Variables : set, ${name} dans les chaînes, et les morceaux trouvés par un joker de :matches (${1})',
  'cap.sieve.variables.effect':
    'Avec :matches, un script peut réutiliser ce qui a correspondu, p. ex. ranger selon le nom de la liste ou le +détail.',
  'cap.sieve.relational.summary': ':value et :count comparent avec gt, ge, lt, le, eq, ne au lieu de la seule égalité',
  'cap.sieve.relational.effect':
    'Compare des chaînes, ou des nombres avec le comparateur i;ascii-numeric, et compte les champs d’en-tête.',
  'cap.sieve.comparator-i;ascii-numeric.summary': 'Le comparateur qui compare les chaînes comme des nombres décimaux',
  'cap.sieve.comparator-i;ascii-numeric.effect':
    'Avec relational, "10" est plus grand que "9" (ce qui n’est pas le cas en texte). Les chaînes qui ne commencent pas par un chiffre comptent comme l’infini.',
  'cap.sieve.date.summary':
    'date teste un en-tête de date, currentdate le moment de la remise, partie par partie (date, heure, jour de la semaine…)',
  'cap.sieve.date.effect':
    'Une réponse d’absence ou une règle ne fonctionne ainsi que pendant une période, ou le week-end.',
  'cap.sieve.index.summary': ':index n choisit la n-ième occurrence d’un champ d’en-tête (:last compte depuis la fin)',
  'cap.sieve.index.effect': 'Par exemple le premier champ Received:, celui qu’a ajouté votre propre serveur.',
  'cap.sieve.subaddress.summary': ':user et :detail testent les parties de utilisateur+détail@domaine',
  'cap.sieve.subaddress.effect':
    'Un courrier adressé à ludo+shop@example.test est remis à ludo, et le script peut le ranger selon "shop".',
  'cap.sieve.vacation.summary':
    'vacation répond automatiquement, une fois par expéditeur sur une période (:days, 7 par défaut)',
  'cap.sieve.vacation.effect':
    'Pas de réponse aux listes, au courrier de masse, aux réponses automatiques, à l’expéditeur vide ni au courrier qui ne vous est pas adressé (§4.5). La réponse porte Auto-Submitted: auto-replied.',
  'cap.sieve.vacation-seconds.summary': 'vacation :seconds donne la période en secondes au lieu de jours',
  'cap.sieve.vacation-seconds.effect':
    'Pour les périodes courtes, p. ex. répondre au plus une fois par heure (:seconds 3600).',
  'cap.sieve.include.summary': 'include exécute un autre script de l’utilisateur (:personal) ou du serveur (:global)',
  'cap.sieve.include.effect':
    'Les règles communes vivent dans un seul script ; return termine plus tôt un script inclus.',
  'cap.sieve.mailbox.summary':
    'mailboxexists teste l’existence d’un dossier, et fileinto :create crée un dossier manquant',
  'cap.sieve.mailbox.effect':
    'Sans :create, fileinto vers un dossier qui n’existe pas échoue, et le message est gardé dans INBOX.',
  'cap.sieve.environment.summary':
    'environment teste des informations sur le serveur : son domaine, son hôte, son nom, sa version, remote-ip…',
  'cap.sieve.environment.effect':
    'Un script peut se comporter différemment selon le serveur, ou selon l’adresse du client qui a remis le courrier.',
  'cap.sieve.duplicate.summary':
    'duplicate est vrai pour un message (Message-ID, ou un :uniqueid) déjà vu pendant une période',
  'cap.sieve.duplicate.effect': 'Élimine les copies qui arrivent deux fois, p. ex. par une liste et directement.',
  'cap.sieve.editheader.summary': 'addheader et deleteheader modifient l’en-tête du message',
  'cap.sieve.editheader.effect': 'Non proposé par postbode.',
  'cap.sieve.enotify.summary': 'notify envoie une notification (p. ex. un court courrier) à propos d’un message',
  'cap.sieve.enotify.effect': 'Non proposé par postbode.',
};
