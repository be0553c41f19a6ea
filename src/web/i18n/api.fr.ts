/** The web API's error texts in French (keys: api.en.ts). Endpoints, settings and protocol words stay as they are. */
import type { apiEn } from './api.en.js';

export const apiFr: Record<keyof typeof apiEn, string> = {
  text: '{problem}',
  'request.refused': 'requête refusée',
  'server.internal': 'erreur interne du serveur ; le journal du serveur donne les détails',
  'api.noEndpoint': 'pas de point d’accès API {method} {path} ; docs/web-api.md décrit les points d’accès',
  'auth.notLoggedIn': 'non connecté : POST /api/login avec {username, password}',
  'auth.adminOnly':
    'il faut pour cela un compte administrateur (créez-en un avec "postbode admin add NOM" et connectez-vous avec)',
  'auth.adminNoMailbox': 'un administrateur n’a pas de boîte aux lettres ; indiquez un compte',
  'auth.ownMailOnly': 'vous êtes connecté en tant que {name} et ne pouvez voir que votre propre courrier',
  'csrf.header':
    'les requêtes {method} doivent envoyer Content-Type: application/json ou l’en-tête X-Postbode: 1 (protection contre les requêtes intersites)',
  'login.giveName': 'indiquez votre nom d’administrateur ou votre adresse e-mail',
  'login.givePassword': 'indiquez votre mot de passe',
  'login.wrong':
    'nom ou mot de passe incorrect (les administrateurs utilisent leur nom d’administrateur, les utilisateurs leur adresse e-mail)',
  'login.tooManySessions':
    'le serveur a trop de sessions web ouvertes ; réessayez plus tard (un administrateur peut le redémarrer pour les effacer)',
  'body.notJson': 'le corps de la requête n’est pas du JSON valide ; envoyez un objet JSON',
  'body.invalid': 'requête invalide : {problems}',
  'body.contentLength': 'l’en-tête Content-Length n’est pas un nombre',
  'body.tooLarge':
    'le corps de la requête dépasse la limite de {size} (web.max_body_size) ; l’API attend de petits objets JSON',
  'body.busy': 'le serveur reçoit trop de grosses requêtes à la fois ; réessayez dans quelques secondes',
  'size.mb': '{n} Mo',
  'size.kb': '{n} Ko',
  'size.bytes': '{n} octets',
  'stream.perUser':
    'trop de flux en direct : {name} en a {open} ouverts, la limite est de {limit} par utilisateur (web.streams_per_user) ; fermez les autres onglets du labo web et rechargez la page',
  'stream.total':
    'trop de flux en direct : {open} sont ouverts sur ce serveur, la limite est de {limit} (web.max_streams) ; réessayez plus tard',
  'stream.needsNode': 'les flux en direct demandent le serveur HTTP de node',
  'lab.noRecorder': 'l’enregistreur de sessions ne tourne pas ; redémarrez postbode',
  'lab.noSession':
    'pas de session {id} : elle n’a jamais existé ou ne figure plus dans l’historique (web.history_sessions)',
  'lab.notYours':
    'la session {id} n’est pas la vôtre : vous ne voyez que les sessions où vous vous êtes connecté en tant que {name}',
  'lab.badProto': 'protocole inconnu "{proto}" dans ?proto= ; utilisez smtp, pop3, imap ou managesieve',
  'lab.badLimit': '?limit= doit être un nombre entier de 1 à 1000',
  'lab.passwordsAdminOnly': 'seul un administrateur peut télécharger une capture avec ses mots de passe',
  'lab.passwordsTls': 'la session {id} a utilisé TLS : ses mots de passe ne sont jamais conservés',
  'lab.noPasswords':
    'aucun mot de passe conservé pour la session {id} : elle n’en a envoyé aucun, ou lab.capture_passwords était désactivé lors de son enregistrement',
  'lab.noKeylog':
    'pas de journal des clés TLS pour la session {id} : la journalisation des clés était désactivée à son début, elle n’a pas utilisé TLS, ou le serveur a redémarré depuis (activez-la avec PUT /api/keylog {"enabled": true}, puis reconnectez-vous)',
  'lab.keylogUnavailable': 'la journalisation des clés TLS n’est pas disponible ; redémarrez postbode',
  'lab.noBatch':
    'ce lot de comptes de labo n’existe pas : les lots sont gardés une heure après leur création (et pas d’un redémarrage à l’autre) ; réinitialisez les mots de passe avec POST /api/users/ADRESSE/password',
  'lab.prefixTooLong': '"{address}" n’est pas une adresse valide : {problem} ; choisissez un préfixe plus court',
  'exercises.noRecorder':
    'les exercices sont vérifiés par l’enregistreur de sessions, qui ne tourne pas ; redémarrez postbode',
  'account.none': 'pas de compte {address} ; GET /api/users donne la liste des comptes',
  'mail.noMailbox': 'pas de boîte {mailbox} dans {address} ; GET /api/mail/{address}/mailboxes en donne la liste',
  'mail.badUid': 'l’UID du message doit être un nombre entier positif',
  'mail.badPart':
    'la partie "{part}" n’est pas un numéro de partie ; utilisez des numéros comme 1 ou 2.1, pris dans l’arbre MIME du message',
  'mail.noPart': 'le message {uid} n’a pas de partie {part} ; consultez son arbre MIME',
  'mail.container': 'la partie {part} est un conteneur {type} ; téléchargez plutôt l’une de ses parties',
  'mail.noMessage': 'pas de message d’UID {uid} dans {mailbox} (supprimé par EXPUNGE ou jamais présent)',
  'query.wholeNumber': '?{name}= doit être un nombre entier de 0 à {max}',
  'queue.badId': '"{id}" n’est pas un identifiant de la file d’attente ; GET /api/queue en donne la liste',
  'queue.gone':
    'pas d’entrée {id} dans la file d’attente : elle a entre-temps été remise, renvoyée en erreur ou supprimée ; GET /api/queue donne ce qu’il reste',
  'sieve.tooBig':
    'le script fait {size} octets ; la limite est de {limit} octets (sieve.max_script_bytes) : raccourcissez-le',
  'sieve.tooBigCheck': 'le script fait {size} octets ; la limite est de {limit} octets',
  'sieve.tooMany':
    '{address} a {count} scripts, le maximum permis (sieve.max_scripts = {limit}) : supprimez-en un d’abord',
  'sieve.activeNotDeleted':
    '"{name}" est le script actif et ne peut pas être supprimé : activez d’abord un autre script, ou aucun (PUT /api/sieve/{address}/active)',
  'sieve.nameTaken': 'il existe déjà un script "{name}" : choisissez un autre nom ou supprimez-le d’abord',
  'sieve.handEdited':
    'le script "{name}" a été modifié à la main depuis que le formulaire l’a écrit ; envoyez "overwrite": true pour le remplacer par les règles du formulaire (les modifications manuelles seront perdues)',
  'sieve.badName': '{problem} ; donnez au script un nom comme "filters"',
  'sieve.noScript': '{address} n’a pas de script "{name}" ; GET /api/sieve/{address} donne la liste des scripts',
  'sieve.compileOne':
    'le script contient une erreur et n’a pas été enregistré ; ligne {line}, colonne {column} : {message}',
  'sieve.compileMany':
    'le script contient {count} erreurs et n’a pas été enregistré ; ligne {line}, colonne {column} : {message}',
  'sieve.compileUnknown': 'le script contient 0 erreur et n’a pas été enregistré ; erreur inconnue',
  'domain.exists': '{name} est déjà un domaine local',
  'domain.hasAccount':
    '{name} a encore 1 compte : supprimez-le d’abord, ou envoyez DELETE /api/domains/{name}?force=1 pour cesser malgré tout d’accepter du courrier pour ce domaine',
  'domain.hasAccounts':
    '{name} a encore {count} comptes : supprimez-les d’abord, ou envoyez DELETE /api/domains/{name}?force=1 pour cesser malgré tout d’accepter du courrier pour ce domaine',
  'domain.notLocal': '{name} n’est pas un domaine local (GET /api/domains en donne la liste)',
  'user.exists':
    'l’utilisateur {address} existe déjà (POST /api/users/{address}/password définit un nouveau mot de passe)',
  'user.none': 'pas d’utilisateur {address} (GET /api/users en donne la liste)',
  'alias.none': 'pas d’alias {alias} (GET /api/aliases en donne la liste)',
  'alias.badCatchAll': '"{alias}" n’est pas un catch-all valide : @domaine attendu',
  'zod.domainString': 'indiquez un nom de domaine sous forme de chaîne, p. ex. "class.example"',
  'zod.domain': 'nom de domaine attendu, comme example.org : {problem}',
  'zod.addressString': 'indiquez une adresse e-mail sous forme de chaîne, p. ex. "student01@class.example"',
  'zod.address': '"{value}" n’est pas une adresse valide : {problem}',
  'zod.quotaNumber':
    'quotaBytes doit être un nombre d’octets (p. ex. 524288000 pour 500 Mio), ou null pour aucun quota',
  'zod.quotaWhole': 'quotaBytes doit être un nombre entier d’octets',
  'zod.quotaPositive': 'quotaBytes doit être positif, ou null pour aucun quota',
  'zod.oneTarget': 'indiquez au moins une adresse de destination',
  'zod.countNumber': 'indiquez le nombre de comptes sous forme de nombre, p. ex. 30',
  'zod.countWhole': 'count doit être un nombre entier',
  'zod.countRange': 'count doit aller de 1 à 500',
  'zod.prefix': 'commencez par une lettre ; ensuite des lettres, des chiffres, ".", "_" ou "-" ; 40 caractères au plus',
  'zod.patternString':
    'indiquez les comptes sous forme de motif, p. ex. {"accounts": "student*@class.example"} ("*" pour tous)',
  'zod.patternEmpty': 'indiquez les comptes sous forme de motif, p. ex. student*@class.example ("*" pour tous)',
  'zod.addressList':
    'indiquez les adresses à supprimer sous forme de liste : celles qu’a renvoyées POST /api/class-reset/preview',
  'zod.oneAddress': 'indiquez au moins une adresse (POST /api/class-reset/preview donne celles que choisit un motif)',
  'zod.manyAddresses': '10 000 adresses au plus à la fois',
  'problem.password.empty': 'le mot de passe ne doit pas être vide',
  'problem.password.short': 'le mot de passe est trop court : au moins {min} caractères (auth.min_password_length)',
  'problem.throttled.address':
    'Trop de tentatives de connexion depuis votre adresse ; attendez {seconds} s et réessayez (les connexions échouées ralentissent les tentatives suivantes)',
  'problem.throttled.account':
    'Trop de connexions échouées sur ce compte depuis d’autres adresses ; attendez {seconds} s et réessayez, ou connectez-vous depuis une adresse que vous avez déjà utilisée',
  'problem.address.long': 'l’adresse dépasse 254 caractères',
  'problem.address.shape': 'partie-locale@domaine attendu',
  'problem.address.localLong': 'la partie locale dépasse 64 caractères',
  'problem.address.utf8': 'les caractères non ASCII demandent le paramètre SMTPUTF8 (RFC 6531)',
  'problem.address.quoting': 'la partie locale contient des caractères qui doivent être mis entre guillemets',
  'problem.address.literal': 'littéral d’adresse invalide',
  'problem.domain.invalid': '"{name}" n’est pas un nom de domaine valide',
  'problem.domain.empty': 'le nom de domaine est vide',
  'problem.domain.at': 'indiquez le domaine sans "@", p. ex. example.org',
  'problem.domain.idna': '"{name}" n’est pas un nom de domaine valide (IDNA)',
  'problem.domain.long': '"{name}" dépasse 253 caractères',
  'problem.domain.ldh':
    '"{name}" n’est pas un nom de domaine valide : utilisez des lettres, des chiffres et "-" entre les points, p. ex. example.org',
  'problem.domain.ip': '"{name}" ressemble à une adresse IP, pas à un nom de domaine',
  'problem.sieveName.empty': 'le nom d’un script ne doit pas être vide',
  'problem.sieveName.long': 'le nom du script fait {chars} caractères ; la limite est de {limit}',
  'problem.sieveName.control': 'le nom d’un script ne doit contenir ni caractères de contrôle ni séparateurs de ligne',
  'problem.sieveName.unicode': 'le nom du script n’est pas de l’Unicode valide',
  'problem.sieveName.nfc': 'le nom du script n’est pas en forme de normalisation Unicode C (RFC 5804 §1.6)',
  'problem.alias.notLocal':
    '{domain} n’est pas un domaine local, donc {alias} ne peut pas être un alias ici : le courrier pour {domain} est remis à ses propres serveurs. Le rendre local ferait arriver ici tout son courrier, et aucun utilisateur ne pourrait plus écrire à quelqu’un chez {domain}. Si ce serveur doit recevoir le courrier de {domain}, ajoutez d’abord le domaine ({howTo}).',
  'problem.alias.self': '{alias} ne peut pas être un alias de lui-même',
  'problem.alias.unknownTarget':
    '{target} n’est ni un compte ni un alias (et {domain} n’a pas de catch-all) : ajoutez d’abord l’utilisateur ou l’alias, ou indiquez une adresse d’un autre domaine',
  'problem.alias.loop': '{alias} -> {targets} créerait une boucle : {loop}',
  'problem.rules.headerLong': 'le nom de l’en-tête dépasse {max} caractères',
  'problem.rules.headerLine': 'le nom de l’en-tête ne doit contenir ni sauts de ligne ni caractères de contrôle',
  'problem.rules.valueLong': 'le texte à chercher dépasse {max} caractères',
  'problem.rules.valueLine': 'le texte à chercher ne doit contenir ni sauts de ligne ni caractères de contrôle',
  'problem.rules.folderLong': 'le nom du dossier dépasse {max} caractères',
  'problem.rules.folderLine': 'le nom du dossier ne doit contenir ni sauts de ligne ni caractères de contrôle',
  'problem.rules.subjectLong': 'le sujet dépasse {max} caractères',
  'problem.rules.subjectLine': 'le sujet ne doit contenir ni sauts de ligne ni caractères de contrôle',
  'problem.rules.value': 'indiquez le texte à chercher',
  'problem.rules.header':
    'indiquez l’en-tête à tester, p. ex. List-Id (lettres, chiffres et tirets ; pas de deux-points)',
  'problem.rules.fileOrDiscard': 'un filtre range le message dans un dossier ou le supprime, pas les deux',
  'problem.rules.folderEmpty': 'le nom du dossier est vide ; omettez-le plutôt',
  'problem.rules.noAction':
    'un filtre a besoin d’une action : un dossier, un drapeau, marquer comme lu, supprimer ou arrêter',
  'problem.rules.startDate': 'la date de début doit avoir la forme 2026-12-24',
  'problem.rules.endDate': 'la date de fin doit avoir la forme 2026-12-24',
  'problem.rules.textLong': 'le texte de la réponse dépasse 10 000 caractères',
  'problem.rules.textControl': 'le texte de la réponse ne doit pas contenir de caractères de contrôle',
  'problem.rules.textEmpty': 'écrivez le texte de la réponse',
  'problem.rules.daysWhole': 'days doit être un nombre entier',
  'problem.rules.daysMin': 'days doit valoir au moins 1',
  'problem.rules.daysMax':
    'days vaut au plus 60 : un expéditeur reçoit une nouvelle réponse au plus tard après 60 jours',
  'problem.rules.endBeforeStart': 'la date de fin {end} précède la date de début {start}',
  'problem.rules.tooMany': '{max} filtres au plus',
  'problem.classReset.noPattern':
    'indiquez les comptes à supprimer sous forme de motif, p. ex. student*@class.example (* pour tous)',
  'problem.classReset.tooLong': 'le motif des comptes est trop long (320 caractères au plus)',
};
