/**
 * The lab's explanations in the viewer's language (issue 12 item 4). The trackers explain in English,
 * reading their texts from the lab catalogue (src/web/i18n/lab.en.ts); this turns each explanation
 * that is a catalogue entry into the same entry in nl or fr. The protocol lines themselves (`text`)
 * are never translated: they are what crossed the wire.
 */
import type { Protocol } from '../../trace/bus.js';
import type { AnnotatedEvent } from '../api-types.js';
import { type Language, labTranslated } from '../i18n/index.js';
import { type Annotator, createAnnotator } from './annotate.js';

export function localizeEvent(ev: AnnotatedEvent, lang: Language): AnnotatedEvent {
  const a = ev.annotation;
  if (lang === 'en' || !a) return ev;
  return {
    ...ev,
    annotation: {
      ...a,
      summary: labTranslated(lang, a.summary),
      detail: a.detail === null ? null : labTranslated(lang, a.detail),
    },
  };
}

/** An annotator whose explanations come in `lang`. */
export function createLocalizedAnnotator(proto: Protocol, lang: Language): Annotator {
  const inner = createAnnotator(proto);
  return {
    get state() {
      return inner.state;
    },
    push: (event) => localizeEvent(inner.push(event), lang),
  };
}
