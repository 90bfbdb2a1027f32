"use client";

import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { saveSettings, type ConnectionSettings } from "./api";
import { ErrorNote } from "./error-note";
import { keys, settingsQuery, whoamiQuery } from "./queries";

/** SettingsForm: how one connection is read (consistency level and replica wait), saved with PUT. */
export function SettingsForm({ conn }: { conn: string }) {
  const { data, error, isPending } = useQuery(settingsQuery(conn));
  return (
    <div className="mx-auto flex w-full max-w-[860px] flex-col gap-3 p-4">
      <h2 className="text-[15px] font-semibold">Read settings</h2>
      <p className="text-muted">
        How LockDeck reads this connection. Stronger reads show exactly what the store agreed on, at the cost of load on its leader or primary; weaker reads can
        lag behind a failover.
      </p>
      {error ? <ErrorNote error={error} what="settings" /> : null}
      {isPending ? <p className="text-muted">Loading…</p> : null}
      {data ? <Form key={conn} conn={conn} saved={data} /> : null}
    </div>
  );
}

function Form({ conn, saved }: { conn: string; saved: ConnectionSettings }) {
  const id = useId();
  const client = useQueryClient();
  const [consistency, setConsistency] = useState(saved.consistency);
  // null: the store has no replica acknowledgement to wait for (only Redis has WAIT).
  const hasReplicas = saved.waitReplicas !== null;
  const [waitReplicas, setWaitReplicas] = useState(String(saved.waitReplicas ?? 0));
  const who = useQuery(whoamiQuery());
  const readOnly = who.data?.canSettings === false;
  const save = useMutation({
    mutationFn: () => saveSettings(conn, hasReplicas ? { consistency, waitReplicas: Number(waitReplicas) } : { consistency }),
    onSuccess: (next) => {
      client.setQueryData(keys.settings(conn), next);
      void client.invalidateQueries({ queryKey: keys.connections(), exact: true });
      void client.invalidateQueries({ queryKey: keys.locksOf(conn) });
    },
  });
  const replicas = Number(waitReplicas);
  const valid = waitReplicas.trim() !== "" && Number.isInteger(replicas) && replicas >= 0;
  const dirty = consistency !== saved.consistency || (hasReplicas && replicas !== saved.waitReplicas);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (valid && !save.isPending) save.mutate();
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-4 rounded-md border border-line bg-panel p-4" data-testid="settings-form">
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 font-medium">Consistency</legend>
        {saved.options.map((o) => (
          <label key={o.value} className="flex cursor-pointer items-start gap-2 rounded px-2 py-1.5 hover:bg-hover">
            <input
              type="radio"
              name={`${id}-consistency`}
              value={o.value}
              checked={consistency === o.value}
              onChange={() => setConsistency(o.value)}
              className="mt-1"
            />
            <span className="flex flex-col">
              <span>
                <span className="font-medium">{o.label}</span> <span className="font-mono text-[12px] text-faint">{o.value}</span>
                {o.value === saved.consistency ? <span className="ml-2 text-[12px] text-muted">(current)</span> : null}
              </span>
              <span className="text-muted">{o.description}</span>
            </span>
          </label>
        ))}
      </fieldset>

      {hasReplicas ? (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${id}-replicas`} className="font-medium">
            Wait for replicas
          </label>
          <input
            id={`${id}-replicas`}
            type="number"
            min={0}
            step={1}
            value={waitReplicas}
            onChange={(e) => setWaitReplicas(e.target.value)}
            aria-invalid={!valid}
            aria-describedby={`${id}-replicas-hint`}
            className="w-28 rounded border border-line bg-sunken px-2 py-1 tabular-nums"
          />
          <span id={`${id}-replicas-hint`} className="text-[12px] text-muted">
            How many replicas must acknowledge a force-release before LockDeck reports it (e.g. Redis WAIT); 0 = do not wait.
          </span>
        </div>
      ) : null}

      <div className="flex items-center gap-3">
        <button
          type="submit"
          disabled={readOnly || !valid || !dirty || save.isPending}
          className="rounded bg-accent px-3 py-1 font-medium text-panel disabled:opacity-40"
        >
          {save.isPending ? "Saving…" : "Save"}
        </button>
        {readOnly ? <span className="text-muted">Your role cannot change settings (admins can).</span> : null}
        {save.isSuccess && !dirty ? (
          <span role="status" className="text-ok">
            Saved ✓
          </span>
        ) : null}
        {save.error ? (
          <span role="alert" className="text-bad">
            {save.error.message}
          </span>
        ) : null}
      </div>
    </form>
  );
}
