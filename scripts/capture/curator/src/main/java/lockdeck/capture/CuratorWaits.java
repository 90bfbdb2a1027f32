package lockdeck.capture;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.data.Stat;

/**
 * Several Curator clients (each its own CuratorFramework, so its own ZooKeeper session) that first
 * take some InterProcessMutexes and then, once every client holds its own, ask for one more: real
 * wait-for chains and cycles for tests and captures (a>b and b>a is a deadlock).
 *
 *   java -cp curator-capture.jar lockdeck.capture.CuratorWaits <connectString> <spec>...
 *   spec = <path>[,<path>...][><path>]        e.g. /locks/a>/locks/b
 *
 * Protocol (stdout): "SESSION i 0x<id>", "HOLDS i <path>", "WAITING i <path>", READY once every
 * waiter's node exists, "ACQUIRED i <path>" when a waiter gets its lock (someone let go or
 * force-released). A line on stdin or stdin closing: waiters stop waiting (their node is
 * removed), holders release, "RELEASED", exit 0. Each client's locks are taken and released by
 * its own thread, as InterProcessMutex requires.
 */
public final class CuratorWaits {

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static final class Client {
        final int index;
        final CuratorFramework framework;
        final long session;
        final List<String> holds = new ArrayList<>();
        final String waitFor;
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        volatile Throwable error;
        Thread thread;
        /** True while the thread is blocked in the waiting acquire(): only then is it interrupted. */
        private boolean acquiring;

        synchronized void setAcquiring(boolean on) {
            acquiring = on;
        }

        /** Ends the client: a waiter stops waiting (interrupted inside acquire), a holder lets go. */
        synchronized void stop() {
            done.countDown();
            if (acquiring) thread.interrupt();
        }

        Client(String connect, int index, String spec) throws Exception {
            this.index = index;
            String[] parts = spec.split(">", 2);
            for (String p : parts[0].split(",")) if (!p.isEmpty()) holds.add(p);
            waitFor = parts.length > 1 && !parts[1].isEmpty() ? parts[1] : null;
            framework = CuratorFrameworkFactory.builder().connectString(connect).retryPolicy(new ExponentialBackoffRetry(200, 5)).build();
            framework.start();
            if (!framework.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected in 30 s");
            session = framework.getZookeeperClient().getZooKeeper().getSessionId();
            say("SESSION " + index + " 0x" + Long.toHexString(session));
        }

        void start(CountDownLatch go) {
            thread = new Thread(() -> {
                List<InterProcessMutex> mine = new ArrayList<>();
                try {
                    for (String p : holds) {
                        InterProcessMutex m = new InterProcessMutex(framework, p);
                        m.acquire();
                        mine.add(m);
                        say("HOLDS " + index + " " + p);
                    }
                    held.countDown();
                    go.await();
                    if (waitFor != null) {
                        InterProcessMutex m = new InterProcessMutex(framework, waitFor);
                        say("WAITING " + index + " " + waitFor);
                        setAcquiring(true);
                        try {
                            m.acquire();
                        } finally {
                            setAcquiring(false);
                        }
                        mine.add(m);
                        say("ACQUIRED " + index + " " + waitFor);
                    }
                    done.await();
                } catch (InterruptedException e) {
                    // told to stop waiting: release what we hold below
                } catch (Throwable e) {
                    error = e;
                    e.printStackTrace();
                } finally {
                    Thread.interrupted();
                    for (int i = mine.size() - 1; i >= 0; i--) {
                        try {
                            mine.get(i).release();
                        } catch (Exception e) {
                            // force-released under us: the node is gone already
                            System.err.println("client " + index + ": release: " + e);
                        }
                    }
                }
            }, "client-" + index);
            thread.start();
        }

        /** The client's own node under path exists (its wait is visible in ZooKeeper). */
        boolean waitingNodeExists(CuratorFramework observer) throws Exception {
            if (observer.checkExists().forPath(waitFor) == null) return false;
            for (String child : observer.getChildren().forPath(waitFor)) {
                Stat stat = observer.checkExists().forPath(waitFor + "/" + child);
                if (stat != null && stat.getEphemeralOwner() == session) return true;
            }
            return false;
        }
    }

    static void await(String what, CuratorCapture.Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!check.ok()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: CuratorWaits <connectString> <path>[,<path>...][><path>]...");
            System.exit(2);
        }
        String connect = args[0];
        CuratorFramework observer = CuratorFrameworkFactory.newClient(connect, new ExponentialBackoffRetry(200, 5));
        observer.start();
        List<Client> clients = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        int status = 0;
        try {
            for (int i = 1; i < args.length; i++) clients.add(new Client(connect, i - 1, args[i]));
            for (Client c : clients) {
                c.start(go);
                if (!c.held.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("client " + c.index + " does not hold its locks");
            }
            go.countDown();
            for (Client c : clients) {
                if (c.waitFor != null) await("client " + c.index + " waiting on " + c.waitFor, () -> c.waitingNodeExists(observer));
            }
            say("READY");
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
        } finally {
            for (Client c : clients) {
                if (c.thread != null) {
                    c.stop();
                    c.thread.join(30_000);
                    if (c.thread.isAlive() || c.error != null) status = 1;
                }
                c.framework.close();
            }
            observer.close();
        }
        say("RELEASED");
        System.exit(status);
    }
}
