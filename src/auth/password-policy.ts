/**
 * The rule for passwords a person chooses (CLI `user add`/`user passwd`/`admin add`/`admin passwd`, the
 * web admin and the password change of a user): at least `auth.min_password_length` characters.
 * Passwords the server makes up (generated-password.ts: lab accounts, `--generate`, resets without a
 * value) are 14 characters and are not checked. The length counts Unicode code points.
 */
export function passwordError(password: string, minLength: number): string | null {
  const length = [...password].length;
  if (length === 0) return 'the password must not be empty';
  if (length < minLength) {
    return `the password is too short: at least ${minLength} characters (auth.min_password_length)`;
  }
  return null;
}
