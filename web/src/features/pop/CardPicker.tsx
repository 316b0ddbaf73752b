// Which card to show: the one found (or picked), else the accounts of the caller's number to
// choose from, else a search. A search for another consumer is always one click away.
import { useState } from "preact/hooks";
import { t } from "../../locale";
import type { CardSummary, ConsumerCard } from "../../api/contract";
import { api } from "../../api/http";
import { pick, unpick } from "../../stores/pops";
import { authed, messageOf } from "../../stores/requests";
import { ConsumerCardView } from "../card/ConsumerCardView";
import { SummaryList } from "../search/SummaryList";
import { SearchBox } from "../search/SearchBox";
import { AppealForm } from "../appeal/AppealForm";

interface Props {
  callId: string | null;
  card: ConsumerCard | null;
  candidates: CardSummary[];
}

export function CardPicker({ callId, card, candidates }: Props) {
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function open(account: string) {
    setError(null);
    try {
      const found = await authed((tok) => api.cardByAccount(tok, account));
      pick(callId, found);
      setSearching(false);
    } catch (exc) {
      setError(messageOf(exc));
    }
  }

  const err = error && <p class="error" role="alert">{t.errors.generic(error)}</p>;

  if (card && !searching) {
    return (
      <div class="card-picker">
        <div class="card-tools">
          <button type="button" class="link" onClick={() => setSearching(true)}>{t.search.title}</button>
          {candidates.length > 1 && (
            <button type="button" class="link" onClick={() => unpick(callId)}>{t.pop.backToCandidates}</button>
          )}
        </div>
        <ConsumerCardView card={card} />
        <AppealForm account={card.account.number} callId={callId} onSaved={() => void open(card.account.number)} />
        {err}
      </div>
    );
  }
  if (candidates.length > 0 && !searching) {
    return (
      <div class="card-picker" data-testid="candidates">
        <p class="hint">{t.pop.candidates}</p>
        <SummaryList items={candidates} onOpen={(n) => void open(n)} />
        <button type="button" class="link" onClick={() => setSearching(true)}>{t.search.title}</button>
        {err}
      </div>
    );
  }
  return (
    <div class="card-picker" data-testid="unknown">
      {callId && !card && <p class="hint">{t.pop.unknown}</p>}
      <SearchBox onOpen={(n) => void open(n)} />
      {searching && (
        <button type="button" class="link" onClick={() => setSearching(false)}>{t.pop.dismiss}</button>
      )}
      {err}
    </div>
  );
}
