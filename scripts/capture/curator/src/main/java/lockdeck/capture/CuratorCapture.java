package lockdeck.capture;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Makes real Apache Curator recipes hold locks in a ZooKeeper server, so LockDeck can dump the
 * exact znodes Curator writes (capture mode) or tests can watch live Curator holders and waiters
 * (hold mode).
 *
 *   capture <connectString> <root>                       every scenario under root/scenario
 *   hold <connectString> <scenario> <path> [contenders]  one scenario on path
 *
 * Every contender is its own CuratorFramework (its own ZooKeeper session), as separate processes
 * would be; except in semaphore-threads, where the contenders are threads of contender 0's
 * CuratorFramework (one session, as threads of one process usually are), each with its own
 * InterProcessSemaphoreV2 (maxLeases 1) on the path. Contender i starts only once contender
 * i-1's znode exists, so the queue order is the contender order. Contenders that get the lock
 * keep it until told to let go. capture runs every scenario but semaphore-threads.
 *
 * Protocol (stdout; everything else goes to stderr):
 *   SESSION i 0x<session id>   once contender i is connected
 *   HOLDS i                    contender i holds (again when a waiter gets the lock later)
 *   REVOKED i                  contender i was asked to release (mutex-revocable) and lets go
 *   LET_GO i                   contender i released
 *   READY                      everything is in place
 * "let-go i" on stdin lets contender i go alone (it releases and prints LET_GO i; the next in line
 * takes over and keeps holding). Any other line (or stdin closing) means "let go": holders
 * release, waiters that get the lock afterwards release at once; then RELEASED and exit 0.
 */
public final class CuratorCapture {

    static final List<String> SCENARIOS = List.of(
        "mutex", "mutex-revocable", "rwlock-read", "rwlock-write", "semaphore", "latch", "selector", "semaphore-threads");

    /** Contenders of these scenarios share contender 0's CuratorFramework: one ZooKeeper session. */
    static final Set<String> SHARED_SESSION = Set.of("semaphore-threads");

    /** One way of taking and giving back a recipe; acquire() blocks until held. */
    interface Recipe {
        void acquire() throws Exception;
        void release() throws Exception;
    }

    final class Contender {
        final int index;
        final CuratorFramework client;
        /** False for a contender that runs on another's CuratorFramework (one session, two threads). */
        final boolean ownsClient;
        final CountDownLatch done = new CountDownLatch(1);
        final CountDownLatch holds = new CountDownLatch(1);
        final Thread thread;
        volatile Throwable error;

        Contender(String connect, int index, String scenario, String path, CuratorFramework shared) throws Exception {
            this.index = index;
            ownsClient = shared == null;
            client = ownsClient
                ? CuratorFrameworkFactory.builder()
                    .connectString(connect)
                    .retryPolicy(new ExponentialBackoffRetry(200, 5))
                    .build()
                : shared;
            if (ownsClient) client.start();
            if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected in 30 s");
            say("SESSION " + index + " 0x" + Long.toHexString(client.getZookeeperClient().getZooKeeper().getSessionId()));
            Recipe recipe = recipe(scenario, path);
            thread = new Thread(() -> {
                try {
                    recipe.acquire();
                    say("HOLDS " + index);
                    holds.countDown();
                    done.await();
                    recipe.release();
                    say("LET_GO " + index);
                } catch (Throwable e) {
                    error = e;
                    e.printStackTrace();
                }
            }, scenario + "-" + index);
        }

        Recipe recipe(String scenario, String path) {
            switch (scenario) {
                case "mutex": {
                    InterProcessMutex m = new InterProcessMutex(client, path);
                    return steps(m::acquire, m::release);
                }
                case "mutex-revocable": {
                    InterProcessMutex m = new InterProcessMutex(client, path);
                    // Curator writes empty node data for a revocable lock; the listener runs when
                    // someone writes "__REVOKE__" to our node (Revoker.attemptRevoke or LockDeck).
                    m.makeRevocable(lock -> {
                        say("REVOKED " + index);
                        done.countDown();
                    });
                    return steps(m::acquire, m::release);
                }
                case "rwlock-read":
                case "rwlock-write": {
                    InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, path);
                    // rwlock-read: reader, reader, writer; rwlock-write: writer, reader, writer
                    boolean write = scenario.equals("rwlock-read") ? index >= 2 : index != 1;
                    InterProcessMutex m = write ? rw.writeLock() : rw.readLock();
                    return steps(m::acquire, m::release);
                }
                case "semaphore": {
                    InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(client, path, 2);
                    Lease[] lease = new Lease[1];
                    return steps(() -> lease[0] = sem.acquire(), () -> sem.returnLease(lease[0]));
                }
                case "semaphore-threads": {
                    // Thread i of one CuratorFramework: 0 takes the one permit, 1 waits holding the
                    // semaphore's locks/ mutex and its own lease, the rest queue in locks/.
                    InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(client, path, 1);
                    Lease[] lease = new Lease[1];
                    return steps(() -> lease[0] = sem.acquire(), () -> sem.returnLease(lease[0]));
                }
                case "latch": {
                    LeaderLatch latch = new LeaderLatch(client, path, "participant-" + index);
                    return steps(() -> { latch.start(); latch.await(); }, latch::close);
                }
                case "selector": {
                    CountDownLatch leading = new CountDownLatch(1);
                    CountDownLatch stepDown = new CountDownLatch(1);
                    LeaderSelector sel = new LeaderSelector(client, path, new LeaderSelectorListenerAdapter() {
                        @Override
                        public void takeLeadership(CuratorFramework c) throws Exception {
                            leading.countDown();
                            stepDown.await();
                        }
                    });
                    sel.setId("selector-" + index);
                    return steps(() -> { sel.start(); leading.await(); }, () -> { stepDown.countDown(); sel.close(); });
                }
                default:
                    throw new IllegalArgumentException("unknown scenario " + scenario + "; one of " + SCENARIOS);
            }
        }
    }

    interface Step {
        void run() throws Exception;
    }

    static Recipe steps(Step acquire, Step release) {
        return new Recipe() {
            public void acquire() throws Exception { acquire.run(); }
            public void release() throws Exception { release.run(); }
        };
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private final List<Contender> contenders = new ArrayList<>();
    private final CuratorFramework observer;

    CuratorCapture(CuratorFramework observer) {
        this.observer = observer;
    }

    /** Ephemeral znodes under path (the contenders' nodes), however deep the recipe nests them. */
    int ephemerals(String path) throws Exception {
        if (observer.checkExists().forPath(path) == null) return 0;
        int n = 0;
        for (String child : observer.getChildren().forPath(path)) {
            String p = path + "/" + child;
            var stat = observer.checkExists().forPath(p);
            if (stat == null) continue;
            if (stat.getEphemeralOwner() != 0) n++;
            else n += ephemerals(p);
        }
        return n;
    }

    /** Ephemeral nodes once k contenders are in place. A semaphore's waiter holds a locks/ node and a lease. */
    static IntUnaryOperator expected(String scenario) {
        return switch (scenario) {
            case "semaphore" -> k -> k <= 2 ? k : k + 1;
            case "semaphore-threads" -> k -> k <= 1 ? k : k + 1;
            default -> k -> k;
        };
    }

    /** Contenders that hold right away (the rest wait). */
    static Set<Integer> initialHolders(String scenario) {
        return switch (scenario) {
            case "rwlock-read", "semaphore" -> Set.of(0, 1);
            default -> Set.of(0);
        };
    }

    void take(String connect, String scenario, String path, int n) throws Exception {
        IntUnaryOperator want = expected(scenario);
        int base = contenders.size();
        for (int i = 0; i < n; i++) {
            CuratorFramework shared = i > 0 && SHARED_SESSION.contains(scenario) ? contenders.get(base).client : null;
            Contender c = new Contender(connect, i, scenario, path, shared);
            contenders.add(c);
            c.thread.start();
            int target = want.applyAsInt(i + 1);
            await(scenario + " contender " + i + " in place", () -> ephemerals(path) >= target);
        }
        for (int i : initialHolders(scenario)) {
            if (i >= n) continue;
            Contender c = contenders.get(base + i);
            if (!c.holds.await(30, TimeUnit.SECONDS)) throw new IllegalStateException(scenario + " contender " + i + " does not hold");
        }
        int target = want.applyAsInt(n);
        await(scenario + " settled at " + target + " nodes", () -> ephemerals(path) == target);
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void await(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!check.ok()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    /** Lets every contender go; waiters that get the lock afterwards let go at once. */
    boolean releaseAll() throws InterruptedException {
        for (Contender c : contenders) c.done.countDown();
        boolean ok = true;
        for (Contender c : contenders) {
            c.thread.join(30_000);
            if (c.thread.isAlive() || c.error != null) {
                System.err.println(c.thread.getName() + ": release failed: " + c.error);
                ok = false;
            }
        }
        for (Contender c : contenders) if (c.ownsClient) c.client.close();
        return ok;
    }

    public static void main(String[] args) throws Exception {
        boolean capture = args.length == 3 && args[0].equals("capture");
        boolean holdOne = (args.length == 4 || args.length == 5) && args[0].equals("hold") && SCENARIOS.contains(args[2]);
        if (!capture && !holdOne) {
            System.err.println("usage: capture <connectString> <root> | hold <connectString> <scenario> <path> [contenders]");
            System.err.println("scenarios: " + String.join(", ", SCENARIOS));
            System.exit(2);
        }
        String connect = args[1];
        CuratorFramework observer = CuratorFrameworkFactory.newClient(connect, new ExponentialBackoffRetry(200, 5));
        observer.start();
        CuratorCapture c = new CuratorCapture(observer);
        int status = 0;
        try {
            if (capture) {
                String root = args[2];
                for (String s : SCENARIOS) {
                    if (SHARED_SESSION.contains(s)) continue;
                    int n = switch (s) {
                        case "mutex-revocable" -> 1;
                        case "selector" -> 2;
                        default -> 3;
                    };
                    c.take(connect, s, root + "/" + s, n);
                }
            } else {
                int n = args.length == 5 ? Integer.parseInt(args[4]) : 3;
                c.take(connect, args[2], args[3], n);
            }
            say("READY");
            // "let-go <i>" lets contender i go alone (a handover to the next in line); any
            // other line, or EOF, means "let everything go".
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("let-go (\\d+)").matcher(line.trim());
                if (!m.matches()) break;
                int i = Integer.parseInt(m.group(1));
                if (i < c.contenders.size()) c.contenders.get(i).done.countDown();
            }
            if (!c.releaseAll()) status = 1;
            say("RELEASED");
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
            c.releaseAll();
        } finally {
            observer.close();
        }
        System.exit(status);
    }
}
