// The consumer card as the СВК operator module shows it: header (consumer, address split into
// city / street / house / flat, phones), accounts and money, meters, appeals, outages.
import { label, t } from "../../locale";
import { date, dateTime, decimal, money, period, phone } from "../../format";
import type { ConsumerCard } from "../../api/contract";
import { CallButton } from "../calls/CallButton";

export function ConsumerCardView({ card }: { card: ConsumerCard }) {
  const { consumer, account } = card;
  return (
    <article class="card" data-testid="card" data-account={account.number}>
      <header class="card-head">
        <div class="consumer">
          <span class="label">{consumer.kind === "organisation" ? t.card.organisation : t.card.person}</span>
          <h2 data-testid="consumer-name">{consumer.full_name}</h2>
          {consumer.inn && <span class="muted">{t.card.inn} {consumer.inn}</span>}
        </div>
        <dl class="address">
          <div><dt>{t.card.city}</dt><dd>{account.city}</dd></div>
          <div><dt>{t.card.street}</dt><dd>{account.street}</dd></div>
          <div><dt>{t.card.house}</dt><dd>{account.house}</dd></div>
          <div><dt>{t.card.flat}</dt><dd>{account.apartment ?? "—"}</dd></div>
        </dl>
        <div class="phones">
          <span class="label">{t.card.phones}</span>
          {card.phones.map((p) => (
            <span class="phone" key={p.e164}>
              {phone(p.e164)} <span class="muted">{label(t.card.phoneKinds, p.kind)}</span>
              <CallButton phone={p.e164} account={account.number} />
            </span>
          ))}
        </div>
      </header>

      <section>
        <h3>{t.card.accounts}</h3>
        <div class="account-line">
          <span>{t.card.account} <b class="mono" data-testid="account-number">{account.number}</b></span>
          <span class={`status status-${account.status}`}>
            {label(t.card.accountStatus, account.status)}
            {account.opened_on ? " " + t.card.since(period(account.opened_on)) : ""}
          </span>
          <span>{t.card.totalDebt}: <b data-testid="total-debt">{money(card.total_debt)}</b></span>
        </div>
        <table class="grid">
          <thead>
            <tr>
              <th>{t.card.service}</th><th>{t.card.serviceStatus}</th><th class="num">{t.card.balance}</th>
              <th class="num">{t.card.debt}</th><th class="num">{t.card.penalty}</th><th class="num">{t.card.overdue}</th>
            </tr>
          </thead>
          <tbody>
            {card.balances.map((b) => {
              const service = card.services.find((s) => s.service === b.service);
              return (
                <tr key={b.service} class={b.months_overdue > 0 ? "debtor" : ""}>
                  <td>{label(t.card.services, b.service)}</td>
                  <td>{service ? label(t.card.serviceStates, service.status) : ""}</td>
                  <td class="num">{money(b.balance)}</td>
                  <td class="num">{money(b.debt)}</td>
                  <td class="num">{money(b.penalty)}</td>
                  <td class="num">{b.months_overdue > 0 ? t.card.months(b.months_overdue) : ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>

      {card.meters.length > 0 && (
        <section>
          <h3>{t.card.meters}</h3>
          <table class="grid">
            <thead>
              <tr>
                <th>{t.card.service}</th><th>{t.card.serial}</th><th>{t.card.zone}</th>
                <th class="num">{t.card.lastReading}</th><th>{t.card.readAt}</th><th>{t.card.verificationDue}</th>
              </tr>
            </thead>
            <tbody>
              {card.meters.flatMap((m) =>
                m.zones.map((zone) => {
                  const r = m.last_readings[zone];
                  return (
                    <tr key={`${m.id}-${zone}`}>
                      <td>{label(t.card.services, m.service)}</td>
                      <td class="mono">{m.serial}</td>
                      <td>{label(t.card.zones, zone)}</td>
                      <td class="num">{r ? decimal(r.value) : <span class="muted">{t.card.noReading}</span>}</td>
                      <td>{r ? date(r.created_at) : ""}</td>
                      <td>{date(m.verification_due)}</td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </section>
      )}

      <section>
        <h3>{t.card.outages}</h3>
        {card.outages.length === 0 ? (
          <p class="muted">{t.card.noOutages}</p>
        ) : (
          <ul class="outages">
            {card.outages.map((o) => (
              <li key={o.id} class={`outage-${o.kind}`}>
                <b>{label(t.card.outageKinds, o.kind)}</b> · {label(t.card.services, o.service)} · {o.description}
                {o.expected_restoration_at && <> · {t.card.restoreBy(dateTime(o.expected_restoration_at))}</>}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section>
        <h3>{t.card.appeals}</h3>
        {card.appeals.length === 0 ? (
          <p class="muted">{t.card.noAppeals}</p>
        ) : (
          <table class="grid" data-testid="appeals">
            <thead>
              <tr>
                <th>{t.card.appealCreated}</th><th>{t.card.appealType}</th><th>{t.card.appealTopic}</th>
                <th>{t.card.appealPriority}</th><th>{t.card.appealStatus}</th>
              </tr>
            </thead>
            <tbody>
              {card.appeals.map((a) => (
                <tr key={a.id} class={a.is_open ? "open" : ""}>
                  <td>{dateTime(a.created_at)}</td>
                  <td>{a.type}</td>
                  <td>{a.topic}</td>
                  <td>{label(t.appeal.priorities, a.priority)}</td>
                  <td>{label(t.card.appealStatuses, a.status)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {card.payments.length > 0 && (
        <section>
          <h3>{t.card.payments}</h3>
          <ul class="payments">
            {card.payments.map((p) => (
              <li key={p.id}>{date(p.paid_on)} · {p.service ? label(t.card.services, p.service) + " · " : ""}{money(p.amount)}</li>
            ))}
          </ul>
        </section>
      )}
    </article>
  );
}
