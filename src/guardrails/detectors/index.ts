/** The PII detector for each entity a `pii` rule may select. */
import type { Detector, PiiEntity } from '../types.ts';
import { detectEmails } from './email.ts';
import { detectIbans } from './iban.ts';
import { detectIpAddresses } from './ip-address.ts';
import { detectPaymentCards } from './payment-card.ts';
import { detectPhones } from './phone.ts';
import { detectSecrets } from './secrets.ts';
import { detectUsSsns } from './us-ssn.ts';

export const piiDetectors: Readonly<Record<PiiEntity, Detector>> = {
  email: detectEmails,
  phone: detectPhones,
  payment_card: detectPaymentCards,
  iban: detectIbans,
  us_ssn: detectUsSsns,
  ip_address: detectIpAddresses,
  secret: detectSecrets,
};

export { detectPromptInjection } from './prompt-injection.ts';
