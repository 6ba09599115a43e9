from vms.cli import main

raise SystemExit(main())
