/** The lab's explanations in Dutch (keys: lab.en.ts). */
import type { labEn } from './lab.en.js';

export const labNl: Record<keyof typeof labEn, string> = {
  'session.openPlain': 'TCP-verbinding geopend zonder versleuteling; de server spreekt eerst',
  'session.openTls':
    'TCP-verbinding geopend en meteen TLS onderhandeld (impliciete TLS): elke regel gaat versleuteld over de lijn',
  'session.tlsDone':
    'TLS-handshake voltooid: vanaf hier gaan de regels versleuteld over de lijn; het lab toont ze ontsleuteld',
  'smtp.continuation': 'Vervolg van het antwoord over meerdere regels',
  'smtp.endOfData': 'Einde van het bericht: een regel met alleen "."',
  'smtp.headerEnd': 'Lege regel: de header eindigt, de body volgt',
  'smtp.folded': 'Gevouwen headerregel (vervolg van het veld erboven)',
  'smtp.dotStuffed': 'Bodyregel die met "." begint: de client heeft de punt verdubbeld (dot-stuffing)',
  'smtp.bodyLine': 'Regel van de berichtinhoud',
  'smtp.reply.CONNECT.220': 'De begroeting: de server is klaar; de client zegt nu best EHLO (of HELO)',
  'smtp.reply.CONNECT.421':
    'De server weigert de verbinding voorlopig (te druk of aan het afsluiten); probeer het later opnieuw',
  'smtp.reply.CONNECT.554': 'De server weigert SMTP te spreken met deze client; hij aanvaardt alleen nog QUIT',
  'smtp.reply.EHLO.250':
    'Begroeting aanvaard; de regels na de eerste sommen de extensies (sleutelwoorden) op die deze server ondersteunt',
  'smtp.reply.HELO.250':
    'Begroeting aanvaard (HELO: geen lijst van extensies, dus de client mag alleen basis-SMTP gebruiken)',
  'smtp.reply.MAIL.250':
    'De afzender (reverse-path) is aanvaard; een mailtransactie is begonnen, geef nu de ontvangers op',
  'smtp.reply.RCPT.250': 'Deze ontvanger is aanvaard; voeg er meer toe met RCPT TO of verstuur het bericht met DATA',
  'smtp.reply.RCPT.251': 'De ontvanger is niet lokaal, maar de server stuurt het bericht door',
  'smtp.reply.RCPT.550': 'Deze ontvanger wordt geweigerd; de transactie gaat door voor de andere ontvangers',
  'smtp.reply.RCPT.551': 'De ontvanger is hier niet lokaal; het antwoord zegt waarheen je in de plaats moet sturen',
  'smtp.reply.RCPT.553': 'Het adres van de ontvanger is niet aanvaardbaar (de syntaxis of het domein)',
  'smtp.reply.RCPT.452': 'Te veel ontvangers, of voorlopig geen plaats; stuur de rest in een andere transactie',
  'smtp.reply.RCPT.450': 'De mailbox kan nu geen mail aannemen; probeer het later opnieuw',
  'smtp.reply.DATA.354':
    'Ga je gang: stuur het bericht (header, lege regel, body) en sluit af met een regel met alleen "."',
  'smtp.reply.DATA.554': 'Geen geldige ontvangers, dus er is niemand om het bericht naar te sturen',
  'smtp.reply.END.250': 'Het bericht is aanvaard: vanaf nu is de server verantwoordelijk voor de aflevering',
  'smtp.reply.END.552': 'Het bericht is te groot (of over het quotum); er is niets opgeslagen',
  'smtp.reply.END.554': 'Het bericht werd geweigerd; er is niets opgeslagen',
  'smtp.reply.END.451': 'De server liep vast bij het opslaan van het bericht; de client moet het later opnieuw sturen',
  'smtp.reply.BDAT.250': 'Het stuk is ontvangen; met LAST is het hele bericht aanvaard voor aflevering',
  'smtp.reply.RSET.250': 'De mailtransactie (afzender, ontvangers, data) wordt weggegooid; de sessie blijft begroet',
  'smtp.reply.NOOP.250': 'Er gebeurt niets: NOOP controleert alleen of de server nog antwoordt',
  'smtp.reply.QUIT.221': 'Tot ziens: de server sluit de verbinding',
  'smtp.reply.STARTTLS.220': 'Start nu de TLS-handshake; daarna moet de client opnieuw EHLO sturen (RFC 3207 §4.2)',
  'smtp.reply.STARTTLS.454': 'TLS is om een tijdelijke reden niet beschikbaar',
  'smtp.reply.AUTH.235': 'Aangemeld: de volgende MAIL-commando’s worden als deze gebruiker verstuurd',
  'smtp.reply.AUTH.334': 'Een SASL-challenge (base64): antwoord met één base64-regel, of "*" om te annuleren',
  'smtp.reply.AUTH.535': 'Verkeerde gebruikersnaam of wachtwoord',
  'smtp.reply.AUTH.538': 'Dit mechanisme stuurt het wachtwoord leesbaar; gebruik eerst STARTTLS',
  'smtp.reply.AUTH.504': 'De server kent dit SASL-mechanisme niet; EHLO somt na AUTH op welke hij aanbiedt',
  'smtp.reply.HELP.214': 'De helptekst',
  'smtp.reply.VRFY.252':
    'De server zegt niet of deze gebruiker bestaat (gebruikelijk, tegen het verzamelen van adressen)',
};
