-- A Volnux journal written by Volnux at commit c6daebf (schema version 3),
-- dumped as SQL text by sqlite3's iterdump(); the header pragmas, which a dump
-- leaves out, are restored first. tests/compat/test_legacy_journal.py builds
-- the file from it. Never regenerate it: it stands for files users already have.
PRAGMA page_size = 2048;
PRAGMA application_id = 1450142840;
PRAGMA user_version = 3;
BEGIN TRANSACTION;
CREATE TABLE run_notes (
                seq    INTEGER PRIMARY KEY,
                run_id TEXT NOT NULL REFERENCES runs (id),
                kind   TEXT NOT NULL,
                at     REAL NOT NULL,
                detail TEXT NOT NULL
            );
INSERT INTO "run_notes" VALUES(1,'2bc67f65d7c6','started',1.79659877848363757138e+09,'{"pid":6867,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(2,'2bc67f65d7c6','deprecated',1.79659877848363757138e+09,'{"events":[{"event":"Notify@1.0.0","nodes":["Notify"],"origin":"/tmp/fx/events.py","reason":"use Notify@2","since":null,"replacement":"Notify@2","changelog":{}}]}');
INSERT INTO "run_notes" VALUES(3,'63d50a87c154','started',1.79659877907649922373e+09,'{"pid":6870,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(4,'63d50a87c154','group-retry',1.79659877909905505181e+09,'{"group":"group:1","try":2,"culprits":["Boom"]}');
INSERT INTO "run_notes" VALUES(5,'63d50a87c154','failed',1.79659877910063195231e+09,'{"nodes":["Boom"]}');
INSERT INTO "run_notes" VALUES(6,'c543f32d8389','started',1.79659877963447833066e+09,'{"pid":6873,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(7,'1a01a0655637','started',1.79659878000470256808e+09,'{"pid":6875,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(8,'1a01a0655637','paused',1.79659878001941490177e+09,'{"node":"Ask","reason":"Ask needs an operator: a person must approve the refund"}');
INSERT INTO "run_notes" VALUES(9,'91894f0955b4','started',1.7965987805939626693e+09,'{"pid":6877,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(10,'91894f0955b4','unrouted',1.79659878061556410782e+09,'{"node":"Review","descriptor":3,"message":"Review chose descriptor 3, but it has no ''3 ->'' branch"}');
INSERT INTO "run_notes" VALUES(11,'91894f0955b4','failed',1.79659878061624503136e+09,'{"nodes":["Review"]}');
INSERT INTO "run_notes" VALUES(12,'ca965b0a4c73','started',1.79659878111104059222e+09,'{"pid":6879,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(13,'ca965b0a4c73','cancelled',1.7965987852589583397e+09,'{"by":6896,"owner":"gone"}');
INSERT INTO "run_notes" VALUES(14,'5f6ec274504f','started',1.79659878577165079121e+09,'{"pid":6897,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(15,'5f6ec274504f','forced-change',1.79659878696560382843e+09,'{"changes":["Save: changed: was Save attrs={} xNone branches=[] at /seq4-c75f4ebc:3, now Save attrs={} xNone branches=[] at /seq5-55cd1311:4","Crash: changed: was Crash attrs={} xNone branches=[] at /seq4-c75f4ebc:2, now Crash attrs={} xNone branches=[] at /seq5-55cd1311:2 (already started)","Double: changed: was Double attrs={} xNone branches=[] at /seq4-c75f4ebc:1, now Double attrs={} xNone branches=[] at /seq5-55cd1311:1 (already started)","Fetch: changed: was Fetch attrs={} xNone branches=[] at /seq4-c75f4ebc:0, now Fetch attrs={} xNone branches=[] at /seq5-55cd1311:0 (already started)","Notify: added (Notify attrs={} xNone branches=[] at /seq5-55cd1311:3)"],"text":"# Crashes: the process is killed inside Crash.\nFetch |-> Double -> Crash -> Notify -> Save\n","filename":"changed.pty","events":{"Fetch":{"name":"Fetch","version":"1.0.0","origin":"/tmp/fx/events.py","fingerprint":"14a1b77efce24ede"},"Double":{"name":"Double","version":"1.0.0","origin":"/tmp/fx/events.py","fingerprint":"e27360dca0cb3538"},"Crash":{"name":"Crash","version":"1.0.0","origin":"/tmp/fx/events.py","fingerprint":"c778f64578262b5b"},"Notify":{"name":"Notify","version":"1.0.0","origin":"/tmp/fx/events.py","fingerprint":"26789773de5a6c17"},"Save":{"name":"Save","version":"1.0.0","origin":"/tmp/fx/events.py","fingerprint":"85f3cf3bd53f2f5a"}},"sources":["/tmp/fx/events.py"]}');
INSERT INTO "run_notes" VALUES(16,'5f6ec274504f','resumed',1.79659878696560382843e+09,'{"pid":6944,"host":"vm","cwd":"/tmp/fx","sources":["/tmp/fx/events.py"],"verb":"resume","interrupted":[],"retrying":[],"forced":true}');
CREATE TABLE runs (
                id               TEXT PRIMARY KEY,
                workflow         TEXT NOT NULL,
                filename         TEXT NOT NULL,
                text             TEXT NOT NULL,
                fingerprint      TEXT NOT NULL,
                events           TEXT NOT NULL,
                inputs           BLOB,
                inputs_codec     TEXT,
                state            TEXT NOT NULL,
                created_at       REAL NOT NULL,
                updated_at       REAL NOT NULL,
                ended_at         REAL,
                error            TEXT,
                cancel_requested INTEGER NOT NULL DEFAULT 0
            , num INTEGER);
INSERT INTO "runs" VALUES('2bc67f65d7c6','ok','ok.pty','# Succeeds: pipes, a retried event, a parallel group, a descriptor branch.
Fetch |-> Double |-> Save -> (Flaky || Notify) -> Review (3 |-> Reject)
','802f882f5d9dbb5c','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Double","1.0.0","/tmp/fx/events.py","e27360dca0cb3538"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"],["Flaky","1.0.0","/tmp/fx/events.py","47ed72a166fc44f4"],["Notify","1.0.0","/tmp/fx/events.py","26789773de5a6c17"],["Review","1.0.0","/tmp/fx/events.py","d7d5892de043c6c5"],["Reject","1.0.0","/tmp/fx/events.py","7ef218417af383a4"]],{"Fetch":0,"Double":1,"Save":2,"Flaky":3,"Notify":4,"Review":5,"Reject":6}]','{"n":4}','json','succeeded',1.79659877848363757138e+09,1.79659877850565505028e+09,1.79659877850565505028e+09,NULL,0,1);
INSERT INTO "runs" VALUES('63d50a87c154','failed','failed.pty','# Fails: a group retried twice around an event that raises.
Fetch -> {Boom} * 2 -> Save
','fe1e0e5184dfbb68','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Boom","1.0.0","/tmp/fx/events.py","5456c024bfb431f8"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Boom":1,"Save":2}]','{}','json','failed',1.79659877907649922373e+09,1.79659877910063195231e+09,1.79659877910063195231e+09,'Boom (Boom@1.0.0) failed after 1 attempt: ValueError: card declined',0,2);
INSERT INTO "runs" VALUES('c543f32d8389','crashed','crashed.pty','# Crashes: the process is killed inside Crash.
Fetch |-> Double -> Crash -> Save
','de6c134c671c3cfd','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Double","1.0.0","/tmp/fx/events.py","e27360dca0cb3538"],["Crash","1.0.0","/tmp/fx/events.py","c778f64578262b5b"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Double":1,"Crash":2,"Save":3}]','{}','json','running',1.79659877963447833066e+09,1.79659877963447833066e+09,NULL,NULL,0,3);
INSERT INTO "runs" VALUES('1a01a0655637','paused','paused.pty','# Pauses: Ask needs an operator.
Fetch -> Ask -> Save
','cb5debed5eb3873e','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Ask","1.0.0","/tmp/fx/events.py","bfaa8fd1f885a673"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Ask":1,"Save":2}]','{}','json','paused',1.79659878000470256808e+09,1796598780.01987,1796598780.01987,'Ask needs an operator: a person must approve the refund',0,4);
INSERT INTO "runs" VALUES('91894f0955b4','unrouted','unrouted.pty','# Fails: Review chooses 3, which has no branch.
Fetch -> Review -> Save
','015cf68b97460ed2','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Review","1.0.0","/tmp/fx/events.py","d7d5892de043c6c5"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Review":1,"Save":2}]','{}','json','failed',1.7965987805939626693e+09,1.79659878061624503136e+09,1.79659878061624503136e+09,'Review chose descriptor 3, but it has no ''3 ->'' branch',0,5);
INSERT INTO "runs" VALUES('ca965b0a4c73','crashed','crashed.pty','# Crashes: the process is killed inside Crash.
Fetch |-> Double -> Crash -> Save
','de6c134c671c3cfd','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Double","1.0.0","/tmp/fx/events.py","e27360dca0cb3538"],["Crash","1.0.0","/tmp/fx/events.py","c778f64578262b5b"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Double":1,"Crash":2,"Save":3}]','{}','json','cancelled',1.79659878111104059222e+09,1.7965987852589583397e+09,1.7965987852589583397e+09,NULL,1,6);
INSERT INTO "runs" VALUES('5f6ec274504f','crashed','crashed.pty','# Crashes: the process is killed inside Crash.
Fetch |-> Double -> Crash -> Save
','de6c134c671c3cfd','[[["Fetch","1.0.0","/tmp/fx/events.py","14a1b77efce24ede"],["Double","1.0.0","/tmp/fx/events.py","e27360dca0cb3538"],["Crash","1.0.0","/tmp/fx/events.py","c778f64578262b5b"],["Save","1.0.0","/tmp/fx/events.py","85f3cf3bd53f2f5a"]],{"Fetch":0,"Double":1,"Crash":2,"Save":3}]','{}','json','succeeded',1.79659878577165079121e+09,1.79659878698056602475e+09,1.79659878698056602475e+09,NULL,0,7);
CREATE TABLE task_logs (
                seq     INTEGER PRIMARY KEY,
                run_id  TEXT NOT NULL REFERENCES runs (id),
                node_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                at      REAL NOT NULL,
                level   INTEGER NOT NULL,
                message TEXT NOT NULL
            );
CREATE TABLE "task_records" (
                key     INTEGER PRIMARY KEY,
                records TEXT NOT NULL
            );
INSERT INTO "task_records" VALUES(4294967297,'[["Fetch",0,1,"running",1796598778501890,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967298,'[["Fetch",0,1,"succeeded",1796598778502809,1,"json",[1,2,3,4],null,null,null],["Double",0,1,"running",1796598778502827,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967299,'[["Double",0,1,"succeeded",1796598778502990,1,"json",[2,4,6,8],null,null,null],["Save",0,1,"running",1796598778503005,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967300,'[["Save",0,1,"succeeded",1796598778503218,1,"json",{"saved":[2,4,6,8]},null,null,null],["Flaky",0,1,"running",1796598778503268,null,null,null,null,null,null],["Notify",0,1,"running",1796598778503282,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967301,'[["Notify",0,1,"succeeded",1796598778503862,1,"json","notified",null,null,null],["Flaky",0,1,"retrying",1796598778504843,null,null,null,{"type":"volnux.events.failures.TransientError","message":"not yet","traceback":"Traceback (most recent call last):\n  File \"/work/main/src/volnux/engine/attempt.py\", line 74, in _attempt\n    value = spec.call(ctx)\n            ^^^^^^^^^^^^^^\n  File \"/work/main/src/volnux/events/base.py\", line 307, in call\n    return self.target(**kwargs)\n           ^^^^^^^^^^^^^^^^^^^^^\n  File \"/tmp/fx/events.py\", line 48, in Flaky\n    raise volnux.TransientError(\"not yet\")\nvolnux.events.failures.TransientError: not yet\n"},null,null],["Flaky",0,2,"running",1796598778504851,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967302,'[["Flaky",0,2,"succeeded",1796598778504998,1,"json","ok on attempt 2",null,null,null],["Review",0,1,"running",1796598778505048,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967303,'[["Review",0,1,"succeeded",1796598778505148,3,"json","needs a second look",null,null,null],["Reject",0,1,"running",1796598778505162,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(4294967304,'[["Reject",0,1,"succeeded",1796598778505295,1,"json","rejected",null,null,null]]');
INSERT INTO "task_records" VALUES(8589934593,'[["Fetch",0,1,"running",1796598779095539,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(8589934594,'[["Fetch",0,1,"succeeded",1796598779097289,1,"json",[1,2,3],null,null,null],["Boom",0,1,"running",1796598779097348,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(8589934595,'[["Boom",0,1,"failed",1796598779099012,0,null,null,{"type":"ValueError","message":"card declined","traceback":"Traceback (most recent call last):\n  File \"/work/main/src/volnux/engine/attempt.py\", line 74, in _attempt\n    value = spec.call(ctx)\n            ^^^^^^^^^^^^^^\n  File \"/work/main/src/volnux/events/base.py\", line 307, in call\n    return self.target(**kwargs)\n           ^^^^^^^^^^^^^^^^^^^^^\n  File \"/tmp/fx/events.py\", line 56, in Boom\n    raise ValueError(\"card declined\")\nValueError: card declined\n"},null,null],["Boom",1,1,"pending",1796598779099332,null,null,null,null,null,null],["Boom",1,1,"running",1796598779099383,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(8589934596,'[["Boom",1,1,"failed",1796598779100092,0,null,null,{"type":"ValueError","message":"card declined","traceback":"Traceback (most recent call last):\n  File \"/work/main/src/volnux/engine/attempt.py\", line 74, in _attempt\n    value = spec.call(ctx)\n            ^^^^^^^^^^^^^^\n  File \"/work/main/src/volnux/events/base.py\", line 307, in call\n    return self.target(**kwargs)\n           ^^^^^^^^^^^^^^^^^^^^^\n  File \"/tmp/fx/events.py\", line 56, in Boom\n    raise ValueError(\"card declined\")\nValueError: card declined\n"},null,null]]');
INSERT INTO "task_records" VALUES(12884901889,'[["Fetch",0,1,"running",1796598779655023,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(12884901890,'[["Fetch",0,1,"succeeded",1796598779656410,1,"json",[1,2,3],null,null,null],["Double",0,1,"running",1796598779656441,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(12884901891,'[["Double",0,1,"succeeded",1796598779656695,1,"json",[2,4,6],null,null,null],["Crash",0,1,"running",1796598779656711,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(17179869185,'[["Fetch",0,1,"running",1796598780016617,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(17179869186,'[["Fetch",0,1,"succeeded",1796598780017862,1,"json",[1,2,3],null,null,null],["Ask",0,1,"running",1796598780017883,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(17179869187,'[["Ask",0,1,"pending",1796598780019405,null,null,null,{"type":"volnux.events.failures.NeedsOperator","message":"a person must approve the refund","traceback":"Traceback (most recent call last):\n  File \"/work/main/src/volnux/engine/attempt.py\", line 74, in _attempt\n    value = spec.call(ctx)\n            ^^^^^^^^^^^^^^\n  File \"/work/main/src/volnux/events/base.py\", line 307, in call\n    return self.target(**kwargs)\n           ^^^^^^^^^^^^^^^^^^^^^\n  File \"/tmp/fx/events.py\", line 72, in Ask\n    raise volnux.NeedsOperator(\"a person must approve the refund\")\nvolnux.events.failures.NeedsOperator: a person must approve the refund\n"},null,"paused"]]');
INSERT INTO "task_records" VALUES(21474836481,'[["Fetch",0,1,"running",1796598780613084,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(21474836482,'[["Fetch",0,1,"succeeded",1796598780615048,1,"json",[1,2,3],null,null,null],["Review",0,1,"running",1796598780615094,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(21474836483,'[["Review",0,1,"succeeded",1796598780615526,3,"json","needs a second look",null,null,null]]');
INSERT INTO "task_records" VALUES(25769803777,'[["Fetch",0,1,"running",1796598781192424,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(25769803778,'[["Fetch",0,1,"succeeded",1796598781193665,1,"json",[1,2,3],null,null,null],["Double",0,1,"running",1796598781193689,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(25769803779,'[["Double",0,1,"succeeded",1796598781193944,1,"json",[2,4,6],null,null,null],["Crash",0,1,"running",1796598781193978,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771073,'[["Fetch",0,1,"running",1796598785792652,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771074,'[["Fetch",0,1,"succeeded",1796598785794376,1,"json",[1,2,3],null,null,null],["Double",0,1,"running",1796598785794408,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771075,'[["Double",0,1,"succeeded",1796598785794752,1,"json",[2,4,6],null,null,null],["Crash",0,1,"running",1796598785794794,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771076,'[["Crash",0,1,"pending",1796598786.9656038,null,null,null,null,null,"interrupted"]]');
INSERT INTO "task_records" VALUES(30064771077,'[["Crash",0,2,"running",1796598786978211,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771078,'[["Crash",0,2,"succeeded",1796598786979642,1,"json","survived",null,null,null],["Notify",0,1,"running",1796598786979679,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771079,'[["Notify",0,1,"succeeded",1796598786979946,1,"json","notified",null,null,null],["Save",0,1,"running",1796598786980000,null,null,null,null,null,null]]');
INSERT INTO "task_records" VALUES(30064771080,'[["Save",0,1,"succeeded",1796598786980191,1,"json",{"saved":null},null,null,null]]');
CREATE INDEX runs_by_created_at ON runs (created_at);
CREATE INDEX run_notes_by_run ON run_notes (run_id, seq);
CREATE INDEX task_logs_by_run ON task_logs (run_id, node_id, seq);
CREATE UNIQUE INDEX runs_by_num ON runs (num);
COMMIT;
