from pgmedic.cli import main

raise SystemExit(main())
