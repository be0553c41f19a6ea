/**
 * The web UI's texts in English, the reference catalogue (src/web/i18n/index.ts): every page of
 * src/web/ui, the lab sheet and the errors the UI makes itself. Keys are `area.what`; `{name}` is a
 * placeholder. The Dutch and French catalogues have the same keys.
 */
export const uiEn = {
  'language.label': 'Language',
  'common.loading': 'Loading…',
  'error.unreachable':
    'Could not reach the server for {method} {path}. Check that postbode is running and that its http listener is on.',
  'error.http': '{method} {path} failed with HTTP {status} {statusText}.',
  'error.http404':
    '{method} {path} failed with HTTP {status} {statusText}: this server does not offer that yet, or the item is gone.',
  'nav.sessions': 'Sessions',
  'nav.capabilities': 'Capabilities',
  'nav.mail': 'Mail',
  'nav.filters': 'Filters',
  'nav.classOverview': 'Class overview',
  'nav.exercises': 'Exercises',
  'nav.users': 'Users',
  'nav.domains': 'Domains',
  'nav.aliases': 'Aliases',
  'nav.labAccounts': 'Lab accounts',
  'nav.queue': 'Queue',
  'nav.role.adminTitle': 'administrator: sees every session and account',
  'nav.role.userTitle': 'mail user',
  'nav.logout': 'Log out',
  'page.adminOnly': 'This page is for administrators. Log in with an admin account.',
  'page.unknown': 'There is no page "{hash}". Pick one from the menu above.',
  'login.intro': 'Watch SMTP, POP3 and IMAP sessions live, read mail, manage accounts.',
  'login.username': 'Admin name or mail address',
  'login.password': 'Password',
  'login.busy': 'Logging in…',
  'login.submit': 'Log in',
  'login.help':
    'Admin accounts are made on the server with {command}. Mail users log in with their address and mail password and see only their own sessions and mail.',
  'common.error': 'Error:',
  'common.dismiss': 'Dismiss',
  'common.loadingWhat': 'Loading {what}…',
  'stream.live': '● live',
  'stream.connecting': 'connecting…',
  'stream.reconnecting': 'reconnecting…',
  'exercises.title': 'Exercises',
  'exercises.liveTitle': 'live updates from /api/exercises/stream',
  'exercises.count': '{done} of {total} done',
  'exercises.intro':
    'The lab ticks an exercise by itself as soon as one of your sessions does it: do it with telnet, openssl or your mail client, then watch it here. A port-25 session without a login counts for you when its MAIL FROM is your address, or when it comes from the computer you use this page on.',
  'exercises.loadingWhat': 'exercises',
  'exercises.yours': 'Your exercises',
  'exercises.doneAt': 'done {time}',
  'exercises.notYet': 'not yet',
  'overview.title': 'Class overview',
  'overview.csv': 'Download CSV',
  'overview.intro':
    "Each cell ticks as soon as a student's session does the exercise (from the recorded sessions: nobody ticks their own). Hover a tick for its time, a number for the exercise.",
  'overview.student': 'Student',
  'overview.studentPlaceholder': 'e.g. student0',
  'overview.loadingWhat': 'the class overview',
  'overview.noMatch': 'No student matches.',
  'overview.noAccounts': 'No mail accounts yet: make them on the {page} page.',
  'overview.done': 'Done',
  'overview.studentsDone': 'Students done',
} as const;
