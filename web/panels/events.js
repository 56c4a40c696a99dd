// Events: activations, rollbacks, validation runs, regenerations and promotions, newest first.
import { api } from '../api.js';
import { h, num, time } from '../dom.js';
import { badge, empty, listPanel } from '../ui.js';

/** Fields every event has; the rest of its plain values are shown as its figures. */
const COMMON = ['ts', 'type', 'loop_app_id', 'version', 'message'];

function eventItem(ev) {
  const figures = Object.entries(ev).filter(
    ([k, v]) =>
      !COMMON.includes(k) && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'),
  );
  return h(
    'li',
    {},
    h(
      'div',
      { class: 'event-head' },
      badge(ev.type, 'info'),
      ev.version ? h('span', { class: 'small' }, ev.version) : null,
      h('time', { class: 'muted small', datetime: ev.ts }, time(ev.ts)),
    ),
    h('div', {}, ev.message),
    figures.length
      ? h(
          'div',
          { class: 'muted small' },
          figures.map(([k, v]) => `${k}: ${typeof v === 'number' ? num(v) : v}`).join(' · '),
        )
      : null,
  );
}

export const eventsPanel = (page) =>
  listPanel({
    title: 'Events',
    id: 'events',
    refresh: 'events',
    request: () => api.events(page.id, 25),
    what: 'the events',
    pick: (data) => data.events,
    none: () =>
      empty(
        'No events yet. Activations, rollbacks, validation runs, regenerations and promotions appear here.',
      ),
    render: (events) => h('ol', { class: 'events' }, events.map(eventItem)),
  });
