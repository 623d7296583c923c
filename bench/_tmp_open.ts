import os from 'node:os'; import {mkdtempSync,rmSync,statSync} from 'node:fs'; import path from 'node:path'; import {performance} from 'node:perf_hooks';
import { EVENT_HUBS_STATE_COMPONENT, LocalEventHub, SqliteEventHubStore } from '../local/eventHubs';
import { StateStore } from '../local/state';
const count=Number(process.argv[2]), cap=Number(process.argv[3]), batch=7;
const directory = mkdtempSync(path.join(os.tmpdir(), 'ehb-'));
const open = () => { const state = StateStore.open({ directory, components: [EVENT_HUBS_STATE_COMPONENT] });
  return { state, hub: new LocalEventHub({ name: 'names', partitionCount: 4, maxRetainedEventsPerPartition: 50_000, maxStoredEventsPerPartition: cap, store: new SqliteEventHubStore(state, 'names') }) }; };
const a = open();
let t=performance.now(); const sizes: string[] = [];
for (let sent=0; sent<count; sent+=batch) { a.hub.send(Array.from({length:batch},(_,i)=>({body:{name:'Ada Lovelace',letter:'A',generatedAt:new Date().toISOString(),eventId:`${sent}:${i}`}}))); if ((sent+batch) % 199990 < batch) sizes.push(`${sent+batch}:${(statSync(path.join(directory,'namestream.db')).size/1e6).toFixed(0)}MB`); }
console.log('send', Math.round(count/(performance.now()-t)*1000), '/s; file sizes', sizes.join(' '), 'wal', (statSync(path.join(directory,'namestream.db-wal')).size/1e6).toFixed(1),'MB');
a.hub.close(); a.state.close();
for (let i=0;i<2;i++){ t=performance.now(); const b=open(); const ms=performance.now()-t; console.log('reopen', Math.round(ms),'ms; retained', b.hub.stats().totalRetainedEvents, 'heap MB', Math.round(process.memoryUsage().heapUsed/1e6)); 
 const p='1'; const from=b.hub.seek(p,{kind:'enqueuedTime', afterMs: Date.now()-1e9}); t=performance.now(); let n=0; for (let next=from;;){ const page=b.hub.read(p,next,10000); n+=page.length; if(page.length<10000)break; next=page[page.length-1]!.sequenceNumber+1; } console.log('read partition 1 back', n, Math.round(n/(performance.now()-t)*1000),'/s');
 b.hub.close(); b.state.close(); }
rmSync(directory,{recursive:true,force:true});
