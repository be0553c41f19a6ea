/** The lab's explanations in French (keys: lab.en.ts). */
import type { labEn } from './lab.en.js';

export const labFr: Record<keyof typeof labEn, string> = {
  'session.openPlain': 'Connexion TCP ouverte en clair ; le serveur parle en premier',
  'session.openTls':
    'Connexion TCP ouverte et TLS négocié d’emblée (TLS implicite) : chaque ligne est chiffrée sur le réseau',
  'session.tlsDone':
    'Négociation TLS terminée : à partir d’ici, les lignes circulent chiffrées ; le labo les montre déchiffrées',
  'smtp.continuation': 'Suite de la réponse sur plusieurs lignes',
  'smtp.endOfData': 'Fin du message : une ligne ne contenant que « . »',
  'smtp.headerEnd': 'Ligne vide : l’en-tête se termine, le corps suit',
  'smtp.folded': 'Ligne d’en-tête repliée (suite du champ au-dessus)',
  'smtp.dotStuffed': 'Ligne du corps commençant par « . » : le client a doublé le point (dot-stuffing)',
  'smtp.bodyLine': 'Ligne du corps du message',
  'smtp.reply.CONNECT.220': 'L’accueil : le serveur est prêt ; le client doit maintenant dire EHLO (ou HELO)',
  'smtp.reply.CONNECT.421':
    'Le serveur refuse la connexion pour l’instant (trop occupé ou en cours d’arrêt) ; réessayez plus tard',
  'smtp.reply.CONNECT.554': 'Le serveur refuse de parler SMTP avec ce client ; il n’accepte plus que QUIT',
  'smtp.reply.EHLO.250':
    'Salutation acceptée ; les lignes après la première listent les extensions (mots-clés) que ce serveur prend en charge',
  'smtp.reply.HELO.250':
    'Salutation acceptée (HELO : pas de liste d’extensions, le client ne peut donc utiliser que le SMTP de base)',
  'smtp.reply.MAIL.250':
    'L’expéditeur (reverse-path) est accepté ; une transaction de courrier a commencé, indiquez maintenant les destinataires',
  'smtp.reply.RCPT.250':
    'Ce destinataire est accepté ; ajoutez-en d’autres avec RCPT TO ou envoyez le message avec DATA',
  'smtp.reply.RCPT.251': 'Le destinataire n’est pas local, mais le serveur fera suivre le message',
  'smtp.reply.RCPT.550': 'Ce destinataire est refusé ; la transaction continue pour les autres destinataires',
  'smtp.reply.RCPT.551': 'Le destinataire n’est pas local ici ; la réponse indique où envoyer à la place',
  'smtp.reply.RCPT.553': 'L’adresse du destinataire n’est pas acceptable (sa syntaxe ou son domaine)',
  'smtp.reply.RCPT.452':
    'Trop de destinataires, ou pas de place pour l’instant ; envoyez le reste dans une autre transaction',
  'smtp.reply.RCPT.450': 'La boîte aux lettres ne peut pas recevoir de courrier pour l’instant ; réessayez plus tard',
  'smtp.reply.DATA.354':
    'Allez-y : envoyez le message (en-tête, ligne vide, corps) et terminez-le par une ligne ne contenant que « . »',
  'smtp.reply.DATA.554': 'Aucun destinataire valide : il n’y a personne à qui envoyer le message',
  'smtp.reply.END.250': 'Le message est accepté : désormais, c’est le serveur qui est responsable de sa remise',
  'smtp.reply.END.552': 'Le message est trop gros (ou dépasse le quota) ; rien n’a été enregistré',
  'smtp.reply.END.554': 'Le message a été refusé ; rien n’a été enregistré',
  'smtp.reply.END.451': 'Le serveur a échoué en enregistrant le message ; le client doit le renvoyer plus tard',
  'smtp.reply.BDAT.250': 'Le morceau est reçu ; avec LAST, le message entier est accepté pour la remise',
  'smtp.reply.RSET.250':
    'La transaction de courrier (expéditeur, destinataires, données) est abandonnée ; la session reste saluée',
  'smtp.reply.NOOP.250': 'Il ne se passe rien : NOOP vérifie seulement que le serveur répond encore',
  'smtp.reply.QUIT.221': 'Au revoir : le serveur ferme la connexion',
  'smtp.reply.STARTTLS.220':
    'Lancez maintenant la négociation TLS ; ensuite, le client doit renvoyer EHLO (RFC 3207 §4.2)',
  'smtp.reply.STARTTLS.454': 'TLS n’est pas disponible pour une raison temporaire',
  'smtp.reply.AUTH.235': 'Connecté : les commandes MAIL suivantes sont envoyées au nom de cet utilisateur',
  'smtp.reply.AUTH.334': 'Un défi SASL (base64) : répondez par une ligne en base64, ou « * » pour annuler',
  'smtp.reply.AUTH.535': 'Nom d’utilisateur ou mot de passe incorrect',
  'smtp.reply.AUTH.538': 'Ce mécanisme envoie le mot de passe lisible ; utilisez d’abord STARTTLS',
  'smtp.reply.AUTH.504': 'Le serveur ne connaît pas ce mécanisme SASL ; EHLO liste après AUTH ceux qu’il propose',
  'smtp.reply.HELP.214': 'Le texte d’aide',
  'smtp.reply.VRFY.252': 'Le serveur ne dira pas si cet utilisateur existe (courant, contre la collecte d’adresses)',
  'pop3.saslHidden': 'Réponse SASL au défi « + » : du base64, masqué ici car il contient des identifiants',
  'pop3.saslChallenge': 'Défi SASL : le client répond par une ligne en base64 (ou « * » pour annuler)',
  'pop3.notStatus': 'Pas une ligne d’état POP3 (attendu : +OK ou -ERR)',
  'pop3.success': 'Réussi',
  'pop3.failed': 'Erreur : la commande a échoué',
  'pop3.unasked': 'Une ligne d’état que le client n’a pas demandée',
  'pop3.untiedError': 'Une erreur liée à aucune commande (p. ex. délai d’inactivité dépassé)',
  'pop3.endMulti': 'Fin de la réponse sur plusieurs lignes (une ligne ne contenant que « . »)',
  'pop3.messageLineDot': 'Ligne du message commençant par « . » (le serveur a doublé le point)',
  'pop3.messageLine': 'Ligne du message',
  'pop3.greeting': 'L’accueil : le serveur est prêt (état AUTHORIZATION) ; connectez-vous avec USER/PASS, APOP ou AUTH',
  'pop3.refused': 'Le serveur refuse la connexion',
  'pop3.userOk': 'Nom d’utilisateur noté ; envoyez le mot de passe avec PASS',
  'pop3.userBad': 'Le nom d’utilisateur n’est pas accepté',
  'pop3.loggedIn': 'Connecté : la boîte (maildrop) est verrouillée pour cette session (état TRANSACTION)',
  'pop3.loginFailed': 'Échec de la connexion ; la session reste dans l’état AUTHORIZATION',
  'pop3.stlsOk': 'Lancez maintenant la négociation TLS ; ensuite, le client doit renvoyer CAPA',
  'pop3.stlsBad': 'TLS n’est pas disponible',
  'pop3.stat': 'Nombre de messages et taille totale en octets (« +OK nombre taille »)',
  'pop3.follows': 'Le message suit',
  'pop3.dele': 'Marqué pour suppression ; il est supprimé au QUIT',
  'pop3.rset': 'Toutes les marques de suppression sont retirées',
  'pop3.quitUpdate': 'Les messages marqués sont supprimés (état UPDATE) et la session se termine',
  'pop3.quitPartial': 'Certains messages marqués n’ont pas pu être supprimés',
  'pop3.quitNoUpdate': 'La session se termine (rien n’est supprimé hors de TRANSACTION)',
  'pop3.capa': 'La liste des capacités suit, une par ligne',
};
